import { createProgressTracker } from './progress';

describe('progress tracker', () => {
  let clock = 0;
  const tracker = () => createProgressTracker(() => clock);

  beforeEach(() => {
    clock = 1_000_000;
  });

  it('waits from the first batch until a commit leaves the partition caught up', () => {
    const progress = tracker();
    progress.assigned('t', [0, 1]);
    expect(progress.longestWaitMs()).toBe(0);

    progress.batchStarted('t', 0);
    clock += 5000;
    expect(progress.longestWaitMs()).toBe(5000);
    clock += 5000;
    progress.batchStarted('t', 0); // a retry of the same batch does not restart the clock
    expect(progress.longestWaitMs()).toBe(10_000);

    progress.committed('t', 0, 0);
    expect(progress.longestWaitMs()).toBe(0);
  });

  it('restarts the clock on every commit while a backlog drains', () => {
    const progress = tracker();
    progress.assigned('t', [0]);
    progress.batchStarted('t', 0);
    clock += 3000;
    progress.committed('t', 0, 5000);
    clock += 1000;
    expect(progress.longestWaitMs()).toBe(1000);
    expect(progress.partitions()[0]).toMatchObject({ lag: 5000, lastCommitAt: 1_003_000 });
  });

  it('counts a partition seen behind by the lag monitor as waiting, even with no batch in sight', () => {
    const progress = tracker();
    progress.assigned('t', [0]);
    clock += 60_000; // idle and caught up for a minute: not waiting
    progress.lagObserved('t', 0, 0);
    expect(progress.longestWaitMs()).toBe(0);
    progress.lagObserved('t', 0, 12);
    clock += 2000;
    progress.lagObserved('t', 0, 12);
    expect(progress.longestWaitMs()).toBe(2000);
  });

  it('forgets revoked partitions and ignores news about partitions it does not own', () => {
    const progress = tracker();
    progress.assigned('t', [0, 1]);
    progress.batchStarted('t', 1);
    clock += 9000;
    progress.assigned('t', [0]);
    expect(progress.longestWaitMs()).toBe(0);
    progress.lagObserved('t', 1, 50);
    progress.committed('t', 1, 50);
    expect(progress.partitions().map((p) => p.partition)).toEqual([0]);
    progress.cleared();
    expect(progress.partitions()).toEqual([]);
  });
});
