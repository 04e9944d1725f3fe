import { createWatermarkReader } from './watermark';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

describe('createWatermarkReader', () => {
  it('is the oldest partition, read at most once per cache period however many ask', async () => {
    let reads = 0;
    let clock = 0;
    const reader = createWatermarkReader(
      {
        readProgress: () => {
          reads += 1;
          return Promise.resolve([
            { partition: 0, caughtUpThrough: at(5) },
            { partition: 1, caughtUpThrough: at(3) },
          ]);
        },
        partitionCount: () => Promise.resolve(2),
      },
      { cacheMs: 300, now: () => clock },
    );
    const answers = await Promise.all([reader.completeThrough(), reader.completeThrough()]);
    expect(answers).toEqual([at(3), at(3)]);
    clock = 299;
    await reader.completeThrough();
    expect(reads).toBe(1);
    clock = 300;
    await reader.completeThrough();
    expect(reads).toBe(2);
  });

  it('is null when a partition has no record, the store fails, or it does not answer in time', async () => {
    const missing = createWatermarkReader({
      readProgress: () => Promise.resolve([{ partition: 0, caughtUpThrough: at(1) }]),
      partitionCount: () => Promise.resolve(2),
    });
    expect(await missing.completeThrough()).toBeNull();
    const failing = createWatermarkReader({
      readProgress: () => Promise.reject(new Error('store away')),
      partitionCount: () => Promise.resolve(1),
    });
    expect(await failing.completeThrough()).toBeNull();
    const throwing = createWatermarkReader({
      readProgress: () => {
        throw new Error('not connected yet');
      },
      partitionCount: () => Promise.resolve(1),
    });
    expect(await throwing.completeThrough()).toBeNull();
    const hanging = createWatermarkReader(
      { readProgress: () => new Promise(() => undefined), partitionCount: () => Promise.resolve(1) },
      { timeoutMs: 20 },
    );
    expect(await hanging.completeThrough()).toBeNull();
  });
});
