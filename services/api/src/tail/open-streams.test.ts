import { HttpError } from '../http/errors';
import { OpenStreams } from './open-streams';

describe('OpenStreams', () => {
  it('caps per key (429) and per process (503), gives slots back once, and ends all at shutdown', () => {
    const streams = new OpenStreams({ perKey: 2, total: 3 });
    const a1 = streams.open('a');
    streams.open('a');
    expect(() => streams.open('a')).toThrow(expect.objectContaining({ status: 429, code: 'TOO_MANY_STREAMS' }));
    const b1 = streams.open('b');
    expect(() => streams.open('c')).toThrow(expect.objectContaining({ status: 503 }));
    a1.release();
    a1.release(); // twice is once
    expect(streams.size).toBe(2);
    streams.open('c');
    streams.closeAll();
    expect(b1.signal.aborted).toBe(true);
    let refused: unknown;
    try {
      streams.open('d');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HttpError);
    expect((refused as HttpError).code).toBe('SHUTTING_DOWN');
  });
});
