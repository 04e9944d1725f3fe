import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { csvRows, ndjsonRows } from './export';
import { writeWithBackpressure } from './stream';

const event = {
  eventId: 'e1',
  userId: '+31 6 1234',
  action: '=SUM(A1:A9)',
  metadata: { note: 'a, "b"\nc' },
  timestamp: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:01.000Z',
  traceId: '@trace',
  source: '-src',
};

describe('export formats', () => {
  it('writes CSV with a header, quoting, metadata as JSON and formula cells prefixed', () => {
    expect(csvRows([], true)).toBe('eventId,source,userId,action,timestamp,receivedAt,storedAt,traceId,metadata\r\n');
    expect(csvRows([event], false)).toBe(
      `e1,'-src,'+31 6 1234,'=SUM(A1:A9),2026-01-01T00:00:00.000Z,2026-01-01T00:00:01.000Z,,'@trace,` +
        `"{""note"":""a, \\""b\\""\\nc""}"\r\n`,
    );
  });

  it('quotes a cell with a bare LF or CR, so it cannot start a row of its own (formula and all)', () => {
    const row = csvRows([{ ...event, userId: 'x\n=2+5', action: 'a\r@SUM(1+1)', metadata: undefined }], false);
    expect(row).toContain(`,"x\n=2+5","a\r@SUM(1+1)",`);
    // One record: the only unquoted line break is the record delimiter.
    expect(row.replace(/"[^"]*"/g, '').split('\r\n')).toEqual([expect.any(String), '']);
  });

  it('writes one JSON line per event', () => {
    expect(ndjsonRows([event, event]).split('\n')).toHaveLength(3);
    expect(JSON.parse(ndjsonRows([event]))).toEqual(event);
  });
});

describe('writeWithBackpressure', () => {
  it('resolves at once while the socket takes data, and only after drain once it does not', async () => {
    const res = Object.assign(new EventEmitter(), { full: false, write: () => true }) as unknown as Response & {
      write: () => boolean;
    };
    const write = writeWithBackpressure(res, new AbortController().signal);
    await write('a');
    res.write = () => false;
    let done = false;
    const waiting = write('b').then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    res.emit('drain');
    await waiting;
    expect(done).toBe(true);
  });

  it('rejects a waiting write when the stream is to end', async () => {
    const res = Object.assign(new EventEmitter(), { write: () => false }) as unknown as Response;
    const controller = new AbortController();
    const waiting = writeWithBackpressure(res, controller.signal)('x');
    controller.abort(new Error('client left'));
    await expect(waiting).rejects.toThrow();
  });
});
