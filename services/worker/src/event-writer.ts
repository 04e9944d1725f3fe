import { mongo } from 'mongoose';
import { toLogDocument, type ActivityEvent, type LogDocument, type LogModel } from '@activity-logger/shared';
import { StoreUnavailableError } from './errors';

/** What became of one event in a bulk write, at the same index as the event. */
export type WriteResult =
  | { readonly kind: 'stored' }
  /** The eventId was already stored: a redelivery, which counts as success. */
  | { readonly kind: 'duplicate' }
  /** The server refused this document for good (e.g. FerretDB and nested arrays). */
  | { readonly kind: 'rejected'; readonly code: number; readonly message: string };

export interface EventWriter {
  /**
   * Writes all events at once. Resolves with one result per event, or throws a retriable
   * StoreUnavailableError when the write as a whole was not acknowledged.
   */
  writeBatch(events: readonly ActivityEvent[]): Promise<WriteResult[]>;
}

const DUPLICATE_KEY = 11000;

/**
 * Per-document codes that say "not now" rather than "never": a retry of the whole batch is safe
 * (what was stored comes back as 11000) while dead-lettering these would lose good events.
 */
const TRANSIENT_WRITE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  64, // WriteConcernFailed
  89, // NetworkTimeout
  91, // ShutdownInProgress
  112, // WriteConflict
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13388, // StaleConfig
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

export function createMongoEventWriter(model: LogModel): EventWriter {
  // The collection typed with our string `_id`: no mongoose casting or validation on
  // the hot path (events were validated when decoded), and no ObjectId assumed for `_id`.
  const collection = model.collection as unknown as mongo.Collection<LogDocument>;
  return {
    async writeBatch(events) {
      if (events.length === 0) return [];
      const operations: mongo.AnyBulkWriteOperation<LogDocument>[] = events.map((event) => ({
        insertOne: { document: toLogDocument(event) },
      }));
      try {
        await collection.bulkWrite(operations, { ordered: false });
        return events.map(() => ({ kind: 'stored' }));
      } catch (error) {
        return classifyWriteFailure(error, events.length);
      }
    },
  };
}

/**
 * Splits a failed unordered bulk write into per-document results, or throws a retriable error
 * when the failure is not about particular documents.
 */
export function classifyWriteFailure(error: unknown, count: number): WriteResult[] {
  // mongoose's own driver instance: `instanceof` against another copy of mongodb would fail.
  if (!(error instanceof mongo.MongoBulkWriteError)) {
    throw new StoreUnavailableError(`bulk write failed: ${describe(error)}`, error);
  }
  const writeErrors = ([] as mongo.WriteError[]).concat(error.writeErrors);
  const hasWriteConcernError = error.err !== undefined || error.result.getWriteConcernError() !== undefined;
  // A bulk error without per-document errors wraps a network or server error (the driver
  // returns early), or reports a write concern failure: either way the batch is not durable.
  if (writeErrors.length === 0 || hasWriteConcernError) {
    throw new StoreUnavailableError(`bulk write not acknowledged: ${error.message}`, error);
  }
  if (writeErrors.some((writeError) => TRANSIENT_WRITE_CODES.has(writeError.code))) {
    throw new StoreUnavailableError(`bulk write hit a transient per-document error: ${error.message}`, error);
  }
  const results: WriteResult[] = Array.from({ length: count }, () => ({ kind: 'stored' }));
  for (const writeError of writeErrors) {
    if (writeError.index < 0 || writeError.index >= count) {
      throw new StoreUnavailableError(`bulk write reported an unknown index ${writeError.index}`, error);
    }
    results[writeError.index] =
      writeError.code === DUPLICATE_KEY
        ? { kind: 'duplicate' }
        : { kind: 'rejected', code: writeError.code, message: writeError.errmsg ?? 'write error' };
  }
  return results;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
