import { createHmac } from 'node:crypto';
import { CursorCodec, fingerprint } from './cursor';

describe('CursorCodec', () => {
  const codec = new CursorCodec('a-secret-of-16-chars-or-more');
  const query = fingerprint({ userId: 'u', order: 'desc' });
  const position = { timestamp: new Date('2024-01-02T03:04:05.678Z'), key: 'web/evt-1' };

  it('round-trips a position for the same query', () => {
    expect(codec.decode(codec.encode(position, query), query)).toEqual(position);
  });

  it('refuses a cursor reused with other filters', () => {
    const cursor = codec.encode(position, query);
    expect(codec.decode(cursor, fingerprint({ userId: 'other', order: 'desc' }))).toBeUndefined();
  });

  it('refuses an edited payload, a forged signature and garbage', () => {
    const cursor = codec.encode(position, query);
    const [payload, signature] = cursor.split('.') as [string, string];
    const edited = Buffer.from(JSON.stringify({ t: 0, id: 'evt-1', q: query })).toString('base64url');
    expect(codec.decode(`${edited}.${signature}`, query)).toBeUndefined();
    expect(codec.decode(`${payload}.${'A'.repeat(signature.length)}`, query)).toBeUndefined();
    expect(codec.decode('not-a-cursor', query)).toBeUndefined();
    expect(codec.decode(`${cursor}.more`, query)).toBeUndefined();
    expect(new CursorCodec('another-secret-of-16-chars').decode(cursor, query)).toBeUndefined();
  });

  it('refuses a correctly signed cursor whose time is out of range', () => {
    // What a holder of the secret could forge: signed, but a date no store can compare.
    const forged = (t: number) => {
      const payload = Buffer.from(JSON.stringify({ t, id: 'web/evt-1', q: query })).toString('base64url');
      const signature = createHmac('sha256', 'a-secret-of-16-chars-or-more').update(payload).digest('base64url');
      return `${payload}.${signature.slice(0, 22)}`;
    };
    expect(codec.decode(forged(8.64e15 + 1), query)).toBeUndefined();
    expect(codec.decode(forged(-8.64e15), query)).toBeUndefined();
    expect(codec.decode(forged(position.timestamp.getTime()), query)).toEqual(position);
  });
});
