import type { Admin } from 'kafkajs';
import type { Logger } from '@activity-logger/shared';
import type { ProgressRecorder } from './partition-progress';
import type { ProgressTracker } from './progress';

export interface LagMonitor {
  start(): void;
  stop(): Promise<void>;
  /**
   * One look: committed offsets against the high watermarks of the partitions this member owns.
   * An owned partition found caught up moves its freshness watermark to the look's start.
   */
  checkOnce(): Promise<void>;
}

/**
 * Asks the cluster, every `intervalMs`, how far behind this member's partitions are. Batches
 * report lag only when they arrive; a consumer whose fetch loop is stuck receives none, so without
 * this look a partition with a growing backlog could seem idle and healthy.
 */
export function createLagMonitor(deps: {
  admin: Admin;
  groupId: string;
  topic: string;
  progress: ProgressTracker;
  watermark: ProgressRecorder;
  intervalMs: number;
  logger: Logger;
}): LagMonitor {
  const { admin, groupId, topic, progress } = deps;
  const logger = deps.logger.child({ component: 'lag-monitor' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function checkOnce(): Promise<void> {
    const owned = progress.partitions().filter((p) => p.topic === topic);
    if (owned.length === 0) return;
    // Taken before either read: events acknowledged before it lie below the high watermark read
    // after it, so a committed offset at that high watermark covers all of them. Idle partitions
    // get no batches, and this look is what keeps their watermark moving.
    const checkedAt = new Date();
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const watermarks = await admin.fetchTopicOffsets(topic);
    for (const { partition } of owned) {
      const marks = watermarks.find((p) => p.partition === partition);
      if (marks === undefined) continue;
      const offset = Number(committed?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
      // No commit yet: a new group starts at the beginning (the low watermark).
      const from = offset >= 0 ? offset : Number(marks.low);
      progress.lagObserved(topic, partition, Math.max(0, Number(marks.high) - from));
      if (from >= Number(marks.high)) {
        deps.watermark.record({ topic, partition, committedOffset: from, caughtUpThrough: checkedAt });
      }
    }
  }

  return {
    start() {
      timer ??= setInterval(() => {
        running ??= checkOnce()
          .catch((error: unknown) => logger.debug({ err: error }, 'lag check failed; the next one tries again'))
          .finally(() => {
            running = undefined;
          });
      }, deps.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
    checkOnce,
  };
}
