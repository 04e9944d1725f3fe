import pino from 'pino';
import { batchProgress, createProgressRecorder, mergeUpdates, type ProgressUpdate } from './partition-progress';

const logger = pino({ level: 'silent' });
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

describe('batchProgress', () => {
  const base = { topic: 't', partition: 3, fetchStartedAt: at(10), receivedAts: [at(2), at(5), at(4)] };

  it('says caught up through the fetch start when the commit reached the high watermark', () => {
    expect(batchProgress({ ...base, lastOffset: '99', highWatermark: '100' })).toEqual({
      topic: 't',
      partition: 3,
      committedOffset: 100,
      caughtUpThrough: at(10),
      lastStoredReceivedAt: at(5),
    });
  });

  it('says nothing about caught up while the partition has more', () => {
    expect(batchProgress({ ...base, lastOffset: '98', highWatermark: '100' }).caughtUpThrough).toBeUndefined();
  });
});

describe('createProgressRecorder', () => {
  const update = (committedOffset: number, through?: number): ProgressUpdate => ({
    topic: 't',
    partition: 0,
    committedOffset,
    caughtUpThrough: through === undefined ? undefined : at(through),
  });

  it('keeps one write in flight per partition and merges what arrives meanwhile', async () => {
    const writes: ProgressUpdate[] = [];
    let release: () => void = () => undefined;
    const recorder = createProgressRecorder({
      logger,
      write: (u) => {
        writes.push(u);
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    });
    recorder.record(update(10, 1));
    recorder.record(update(20));
    recorder.record(update(15, 3));
    expect(writes).toHaveLength(1);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes[1]).toEqual({ ...update(20, 3), lastStoredReceivedAt: undefined });
    release();
    await recorder.flush();
  });

  it('keeps a failed write and sends it with the next news, never blocking the caller', async () => {
    const writes: ProgressUpdate[] = [];
    let failures = 0;
    let fail = true;
    const recorder = createProgressRecorder({
      logger,
      onFailure: () => (failures += 1),
      write: (u) => {
        writes.push(u);
        return fail ? Promise.reject(new Error('store down')) : Promise.resolve();
      },
    });
    recorder.record(update(10, 5));
    await recorder.flush();
    expect(failures).toBe(1);
    fail = false;
    recorder.record(update(12));
    await recorder.flush();
    expect(writes[1]).toEqual(mergeUpdates(update(10, 5), update(12)));
  });
});
