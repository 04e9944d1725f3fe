import type { mongo } from 'mongoose';
import { type Connection } from 'mongoose';
import {
  deadLetterModel,
  erasureModel,
  logModel,
  partitionProgressModel,
  progressId,
  type DeadLetterDocument,
  type ErasureDocument,
  type LogDocument,
  type PartitionProgressDocument,
  eraseDeadLetters,
} from '@activity-logger/shared';
import { HttpError } from '../http/errors';
import { isTimeLimit, isUnreachable } from '../store-errors';
import { allOf } from '../query/store-filter';

/** A dead letter as a receipt shows it. */
export type LetterSummary = Pick<DeadLetterDocument, '_id' | 'reason' | 'detail' | 'failedAt' | 'state'>;

/** The store reads and writes behind receipts, the watermark and erasures. */
export interface DeliveryStore {
  progressOf(topic: string, partition: number): Promise<PartitionProgressDocument | null>;
  allProgress(topic: string): Promise<PartitionProgressDocument[]>;
  /** The dead letters of this event (a letter without a source matches any source). */
  lettersOf(eventId: string, source: string | undefined): Promise<LetterSummary[]>;
  recordErasure(erasure: ErasureDocument): Promise<void>;
  /** Deletes the user's stored events received before `before`; resolves with how many. */
  deleteEventsOf(userId: string, before: Date): Promise<number>;
  /**
   * Empties the user's dead letters that failed before `before` of everything personal (their
   * original bytes and headers) and discards the open ones, so none can be replayed; resolves
   * with how many letters it touched.
   */
  eraseDeadLettersOf(userId: string, before: Date, by: string): Promise<number>;
  setErasureDeleted(id: string, counts: { deleted: number; deadLetters: number }): Promise<void>;
  /** Newest first by (requestedAt, _id); `after` is where the previous page ended. */
  listErasures(query: {
    userId?: string | undefined;
    limit: number;
    after?: { requestedAt: Date; id: string } | undefined;
  }): Promise<ErasureDocument[]>;
}

/** Reads are bounded like the log reader's; an erasure's delete may take as long as it needs. */
export function createMongoDeliveryStore(connection: Connection, options: { timeoutMs: number }): DeliveryStore {
  const progress = partitionProgressModel(connection)
    .collection as unknown as mongo.Collection<PartitionProgressDocument>;
  const letters = deadLetterModel(connection).collection as unknown as mongo.Collection<DeadLetterDocument>;
  const erasures = erasureModel(connection).collection as unknown as mongo.Collection<ErasureDocument>;
  const logs = logModel(connection).collection as unknown as mongo.Collection<LogDocument>;
  const { timeoutMs } = options;
  // An erasure may delete many events, far beyond a read's limit, but not without any bound: a
  // stuck store must not hold the request (and its connection) for ever. Asking again finishes it.
  const eraseTimeoutMs = 60_000;

  return {
    progressOf: (topic, partition) =>
      unavailableAs503(progress.findOne({ _id: progressId(topic, partition) }, { maxTimeMS: timeoutMs })),
    allProgress: (topic) => progress.find({ topic }, { maxTimeMS: timeoutMs }).toArray(),
    lettersOf: (eventId, source) =>
      unavailableAs503(
        letters
          .find(
            { eventId, ...(source === undefined ? {} : { $or: [{ source }, { source: { $exists: false } }] }) },
            {
              projection: { _id: 1, reason: 1, detail: 1, failedAt: 1, state: 1 },
              sort: { failedAt: -1, _id: -1 },
              limit: 10,
              maxTimeMS: timeoutMs,
            },
          )
          .toArray(),
      ),
    async recordErasure(erasure) {
      await unavailableAs503(erasures.insertOne(erasure));
    },
    async deleteEventsOf(userId, before) {
      const result = await unavailableAs503(
        logs.deleteMany({ userId, receivedAt: { $lte: before } }, { maxTimeMS: eraseTimeoutMs }),
      );
      return result.deletedCount;
    },
    eraseDeadLettersOf: (userId, before, by) =>
      // Bounded like an erasure's delete (no maxTimeMS would let a stuck store hold the request).
      unavailableAs503(
        eraseDeadLetters(
          letters,
          { userId, failedAt: { $lt: before } },
          { by, at: new Date() },
          { maxTimeMS: eraseTimeoutMs },
        ),
      ),
    async setErasureDeleted(id, counts) {
      await unavailableAs503(erasures.updateOne({ _id: id }, { $set: counts }));
    },
    listErasures: ({ userId, limit, after }) => {
      const conditions: mongo.Filter<ErasureDocument>[] = [];
      if (userId !== undefined) conditions.push({ userId });
      if (after !== undefined) {
        conditions.push({
          $or: [
            { requestedAt: { $lt: after.requestedAt } },
            { requestedAt: after.requestedAt, _id: { $lt: after.id } },
          ],
        });
      }
      return unavailableAs503(
        erasures
          .find(allOf(conditions) as mongo.Filter<ErasureDocument>, {
            sort: { requestedAt: -1, _id: -1 },
            limit,
            maxTimeMS: timeoutMs,
          })
          .toArray(),
      );
    },
  };
}

/** The store being away or slow is a 503 the client may retry, as for queries. */
async function unavailableAs503<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (isUnreachable(error) || isTimeLimit(error)) {
      throw new HttpError(503, 'STORE_UNAVAILABLE', 'The event store cannot be reached right now; retry later.', {
        retryAfterSeconds: 5,
        cause: error,
      });
    }
    throw error;
  }
}
