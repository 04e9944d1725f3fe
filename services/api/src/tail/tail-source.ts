import type { mongo } from 'mongoose';
import {
  completeThrough,
  type LogDocument,
  type LogModel,
  type PartitionProgressDocument,
  type PartitionProgressModel,
} from '@activity-logger/shared';
import { filterConditions, LogReadError, type EventFilters } from '../query/log-reader';
import { isTimeLimit, isUnreachable } from '../store-errors';
import { allOf } from '../query/store-filter';

export interface ProgressSnapshot {
  /** Per partition of the topic, the worker's committed offset: everything below is settled. */
  readonly committed: ReadonlyMap<number, number>;
  /** Up to when the whole log is complete (see completeThrough in shared/delivery.ts). */
  readonly completeThrough: Date | undefined;
}

/** What the live tail reads: the worker's progress, and stored events by their Kafka coordinates. */
export interface TailSource {
  progress(signal?: AbortSignal): Promise<ProgressSnapshot>;
  /** Matching events of one partition with `from ≤ offset < below`, by offset, at most `limit`. */
  read(
    partition: number,
    range: { from: number; below: number },
    filters: EventFilters,
    limit: number,
    signal?: AbortSignal,
  ): Promise<LogDocument[]>;
}

function asReadError(error: unknown): unknown {
  if (isTimeLimit(error)) {
    return new LogReadError('QUERY_TIMEOUT', 'the store did not answer in time', error);
  }
  if (isUnreachable(error)) {
    return new LogReadError('STORE_UNAVAILABLE', 'the store cannot be reached', error);
  }
  return error;
}

/**
 * The store behind the tail. Progress is read at most once per `progressTtlMs` however many
 * streams ask (one shared read in flight), so a hundred idle streams cost one small query a
 * poll, not a hundred.
 */
export function createTailSource(deps: {
  logs: LogModel;
  progress: PartitionProgressModel;
  topic: string;
  /** The topic's partition count (a partition the worker has not recorded yet counts). */
  partitionCount: () => Promise<number>;
  timeoutMs: number;
  progressTtlMs: number;
}): TailSource {
  const logs = deps.logs.collection as unknown as mongo.Collection<LogDocument>;
  const progressDocs = deps.progress.collection as unknown as mongo.Collection<PartitionProgressDocument>;
  let cached: { at: number; snapshot: Promise<ProgressSnapshot> } | undefined;

  async function readProgress(): Promise<ProgressSnapshot> {
    try {
      const [docs, partitions] = await Promise.all([
        progressDocs.find({ topic: deps.topic }, { maxTimeMS: deps.timeoutMs }).toArray(),
        deps.partitionCount(),
      ]);
      return {
        committed: new Map(docs.map((doc) => [doc.partition, Number(doc.committedOffset)])),
        completeThrough: completeThrough(docs, partitions),
      };
    } catch (error) {
      throw asReadError(error);
    }
  }

  const source = {
    progress() {
      const now = Date.now();
      if (cached === undefined || now - cached.at >= deps.progressTtlMs) {
        const snapshot = readProgress();
        cached = { at: now, snapshot };
        // A failed read is not kept: the next caller tries again.
        snapshot.catch(() => {
          if (cached?.snapshot === snapshot) cached = undefined;
        });
      }
      return cached.snapshot;
    },

    async read(
      partition: number,
      range: { from: number; below: number },
      filters: EventFilters,
      limit: number,
      signal?: AbortSignal,
    ) {
      try {
        return await logs
          .find(
            allOf([
              { partition, offset: { $gte: range.from, $lt: range.below } },
              ...filterConditions(filters),
            ]) as mongo.Filter<LogDocument>,
            { sort: { offset: 1 }, limit, maxTimeMS: deps.timeoutMs, ...(signal === undefined ? {} : { signal }) },
          )
          .toArray();
      } catch (error) {
        throw asReadError(error);
      }
    },
  };
  return source;
}
