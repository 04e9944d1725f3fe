import { completeThrough } from './delivery';

describe('completeThrough', () => {
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

  it('is the oldest partition’s caughtUpThrough', () => {
    const progress = [
      { partition: 0, caughtUpThrough: at(30) },
      { partition: 1, caughtUpThrough: at(10) },
      { partition: 2, caughtUpThrough: at(20) },
    ];
    expect(completeThrough(progress, 3)).toEqual(at(10));
  });

  it('is unknown while a partition has no record or was never seen caught up', () => {
    expect(completeThrough([{ partition: 0, caughtUpThrough: at(5) }], 2)).toBeUndefined();
    expect(completeThrough([{ partition: 0, caughtUpThrough: at(5) }, { partition: 1 }], 2)).toBeUndefined();
  });

  it('ignores records of partitions the topic no longer has', () => {
    const progress = [
      { partition: 0, caughtUpThrough: at(8) },
      { partition: 5, caughtUpThrough: at(1) },
    ];
    expect(completeThrough(progress, 1)).toEqual(at(8));
  });
});
