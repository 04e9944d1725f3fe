/**
 * Whether the consumer is making progress, per partition it owns. A partition "waits" from the
 * moment it is known to be behind (a batch arrived, or the lag monitor saw lag > 0) until a commit
 * leaves it caught up; every commit restarts the clock. A partition that has waited longer than a
 * window is stalled: a poison batch retried forever, a store that does not answer, a fetch loop
 * that stopped. Membership alone ("joined the group") says none of this.
 */
export interface PartitionProgress {
  readonly topic: string;
  readonly partition: number;
  /** Messages behind the high watermark, as last seen; undefined until first seen. */
  readonly lag: number | undefined;
  /** When the last commit (or the assignment, before any commit) happened, epoch ms. */
  readonly lastCommitAt: number;
  /** Since when it has been behind without a commit, epoch ms; undefined when caught up. */
  readonly waitingSince: number | undefined;
}

export interface ProgressTracker {
  /** The group gave this member these partitions; any others are forgotten (revoked). */
  assigned(topic: string, partitions: readonly number[]): void;
  /** This member owns nothing any more (stopped, crashed, left the group). */
  cleared(): void;
  batchStarted(topic: string, partition: number): void;
  committed(topic: string, partition: number, lag: number): void;
  lagObserved(topic: string, partition: number, lag: number): void;
  partitions(): PartitionProgress[];
  /** The longest time any owned partition has been waiting, in ms (0 when none waits). */
  longestWaitMs(): number;
}

interface State {
  topic: string;
  partition: number;
  lag: number | undefined;
  lastCommitAt: number;
  waitingSince: number | undefined;
}

export function createProgressTracker(now: () => number = Date.now): ProgressTracker {
  const states = new Map<string, State>();
  const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

  function state(topic: string, partition: number): State | undefined {
    return states.get(keyOf(topic, partition));
  }

  return {
    assigned(topic, partitions) {
      const wanted = new Set(partitions.map((partition) => keyOf(topic, partition)));
      for (const key of states.keys()) if (!wanted.has(key)) states.delete(key);
      for (const partition of partitions) {
        const key = keyOf(topic, partition);
        if (!states.has(key)) {
          states.set(key, { topic, partition, lag: undefined, lastCommitAt: now(), waitingSince: undefined });
        }
      }
    },
    cleared() {
      states.clear();
    },
    batchStarted(topic, partition) {
      const current = state(topic, partition);
      if (current !== undefined) current.waitingSince ??= now();
    },
    committed(topic, partition, lag) {
      const current = state(topic, partition);
      if (current === undefined) return;
      current.lastCommitAt = now();
      current.lag = lag;
      current.waitingSince = lag > 0 ? current.lastCommitAt : undefined;
    },
    lagObserved(topic, partition, lag) {
      const current = state(topic, partition);
      if (current === undefined) return;
      current.lag = lag;
      if (lag === 0) current.waitingSince = undefined;
      else current.waitingSince ??= now();
    },
    partitions() {
      return [...states.values()].map((current) => ({ ...current }));
    },
    longestWaitMs() {
      const at = now();
      let longest = 0;
      for (const { waitingSince } of states.values()) {
        if (waitingSince !== undefined) longest = Math.max(longest, at - waitingSince);
      }
      return longest;
    },
  };
}
