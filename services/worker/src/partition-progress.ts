import type { mongo } from 'mongoose';
import {
  progressId,
  withTimeLimit,
  type Logger,
  type PartitionProgressDocument,
  type PartitionProgressModel,
} from '@activity-logger/shared';

/** What the worker learnt about one partition (see PartitionProgressDocument). */
export interface ProgressUpdate {
  readonly topic: string;
  readonly partition: number;
  readonly committedOffset: number;
  readonly caughtUpThrough?: Date | undefined;
  readonly lastStoredReceivedAt?: Date | undefined;
}

export interface ProgressRecorder {
  /** Takes the news and returns at once: the write happens in the background. */
  record(update: ProgressUpdate): void;
  /** Waits for the writes in flight (for a stop, and for tests). */
  flush(): Promise<void>;
}

export type ProgressWrite = (update: ProgressUpdate) => Promise<void>;

/**
 * Every field only moves forward (`$max`), so writes may land in any order, a late one never
 * undoes a newer one, and a lost one only leaves the record older: never wrong.
 */
export function mongoProgressWrite(model: PartitionProgressModel, options: { timeoutMs: number }): ProgressWrite {
  const collection = model.collection as unknown as mongo.Collection<PartitionProgressDocument>;
  return async (update) => {
    const max: Partial<PartitionProgressDocument> = { committedOffset: update.committedOffset };
    if (update.caughtUpThrough !== undefined) max.caughtUpThrough = update.caughtUpThrough;
    if (update.lastStoredReceivedAt !== undefined) max.lastStoredReceivedAt = update.lastStoredReceivedAt;
    const write = collection.updateOne(
      { _id: progressId(update.topic, update.partition) },
      {
        $setOnInsert: { topic: update.topic, partition: update.partition },
        $max: max,
        $set: { updatedAt: new Date() },
      },
      { upsert: true, maxTimeMS: options.timeoutMs },
    );
    await withTimeLimit(write, options.timeoutMs + 500, () => {
      throw new Error(`the progress write did not answer within ${options.timeoutMs + 500} ms`);
    });
  };
}

function later(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

export function mergeUpdates(a: ProgressUpdate | undefined, b: ProgressUpdate): ProgressUpdate {
  if (a === undefined) return b;
  return {
    topic: b.topic,
    partition: b.partition,
    committedOffset: Math.max(a.committedOffset, b.committedOffset),
    caughtUpThrough: later(a.caughtUpThrough, b.caughtUpThrough),
    lastStoredReceivedAt: later(a.lastStoredReceivedAt, b.lastStoredReceivedAt),
  };
}

/**
 * Writes partition progress beside the batch pipeline, never in its way: at most one write per
 * partition is in flight, news that arrives meanwhile is merged and written next, and a write
 * that fails or times out is logged and merged into the next one (so it is retried with the
 * next batch or lag check). A commit therefore never waits for its progress record.
 */
export function createProgressRecorder(deps: {
  write: ProgressWrite;
  logger: Logger;
  onFailure?: () => void;
}): ProgressRecorder {
  const logger = deps.logger.child({ component: 'partition-progress' });
  const pending = new Map<string, ProgressUpdate>();
  const inFlight = new Map<string, Promise<void>>();

  function pump(key: string): void {
    if (inFlight.has(key)) return;
    const next = pending.get(key);
    if (next === undefined) return;
    pending.delete(key);
    const writing = deps.write(next).then(
      () => {
        inFlight.delete(key);
        pump(key);
      },
      (error: unknown) => {
        inFlight.delete(key);
        pending.set(key, mergeUpdates(next, pending.get(key) ?? next));
        deps.onFailure?.();
        logger.warn(
          { err: error, topic: next.topic, partition: next.partition },
          'partition progress not written; the next batch or lag check retries it',
        );
      },
    );
    inFlight.set(key, writing);
  }

  return {
    record(update) {
      const key = progressId(update.topic, update.partition);
      pending.set(key, mergeUpdates(pending.get(key), update));
      pump(key);
    },
    async flush() {
      while (inFlight.size > 0) await Promise.all(inFlight.values());
    },
  };
}

/**
 * The progress a committed batch proves. `highWatermark` is the partition's end as the fetch that
 * brought the batch saw it, and `fetchStartedAt` a moment before that fetch was sent: every event
 * the broker acknowledged before then lies below that high watermark. So when the commit reached
 * the high watermark, everything acknowledged before `fetchStartedAt` is stored or dead-lettered.
 */
export function batchProgress(batch: {
  topic: string;
  partition: number;
  lastOffset: string;
  highWatermark: string;
  fetchStartedAt: Date | undefined;
  receivedAts: readonly Date[];
}): ProgressUpdate {
  const committedOffset = Number(BigInt(batch.lastOffset) + 1n);
  let lastStoredReceivedAt: Date | undefined;
  for (const receivedAt of batch.receivedAts) lastStoredReceivedAt = later(lastStoredReceivedAt, receivedAt);
  const caughtUp = Number(batch.highWatermark) <= committedOffset;
  return {
    topic: batch.topic,
    partition: batch.partition,
    committedOffset,
    caughtUpThrough: caughtUp ? batch.fetchStartedAt : undefined,
    lastStoredReceivedAt,
  };
}
