import { mongo } from 'mongoose';
import {
  toLogDocument,
  withTimeLimit,
  type ActivityEvent,
  type LogDocument,
  type LogModel,
  type Placement,
} from '@activity-logger/shared';
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
   * StoreUnavailableError when the write as a whole was not acknowledged. `placements`, at the
   * same indexes, say where each event was read from and when it is stored.
   */
  writeBatch(events: readonly ActivityEvent[], placements?: readonly Placement[]): Promise<WriteResult[]>;
}

export const DUPLICATE_KEY = 11000;

/**
 * Per-document codes that say "never" for this document: the server will refuse it however often
 * it is written, so it is dead-lettered. Everything else — an unlisted code included — is taken
 * as "not now": the whole batch is retried with backoff (what was stored comes back as 11000),
 * because dead-lettering on a transient code would take good events out of the log.
 */
export const PERMANENT_WRITE_CODES = new Set([
  2, // BadValue (FerretDB: nested arrays, NaN, …)
  9, // FailedToParse
  14, // TypeMismatch
  22, // InvalidBSON
  52, // DollarPrefixedFieldName
  53, // InvalidIdField
  55, // InvalidDBRef
  56, // EmptyFieldName
  57, // DottedFieldName
  121, // DocumentValidationFailure
  238, // NotImplemented (FerretDB: a document shape it does not support)
  10334, // BSONObjectTooLarge
  17280, // KeyTooLong (older servers)
]);

/**
 * Writes each batch with one unordered bulk write, bounded in time twice: the server stops
 * working on it after `writeTimeoutMs` (maxTimeMS), and the writer stops waiting shortly after
 * that whatever the server or the socket does. Either way the batch comes back as a retriable
 * StoreUnavailableError and goes through the consumer's retry loop; a write that completed after
 * all shows up as duplicates on the retry, which count as stored.
 */
export function createMongoEventWriter(model: LogModel, options: { writeTimeoutMs: number }): EventWriter {
  // The collection typed with our string `_id`: no mongoose casting or validation on
  // the hot path (events were validated when decoded), and no ObjectId assumed for `_id`.
  const collection = model.collection as unknown as mongo.Collection<LogDocument>;
  const { writeTimeoutMs } = options;
  return {
    async writeBatch(events, placements) {
      if (events.length === 0) return [];
      const operations: mongo.AnyBulkWriteOperation<LogDocument>[] = events.map((event, index) => ({
        insertOne: { document: toLogDocument(event, placements?.[index]) },
      }));
      const write = collection.bulkWrite(operations, { ordered: false, maxTimeMS: writeTimeoutMs }).then(
        () => events.map((): WriteResult => ({ kind: 'stored' })),
        (error: unknown) => classifyWriteFailure(error, events.length),
      );
      const clientLimitMs = writeTimeoutMs + CLIENT_GRACE_MS;
      return withTimeLimit(write, clientLimitMs, () => {
        throw new StoreUnavailableError(
          `bulk write of ${events.length} event(s) did not answer within ${clientLimitMs} ms`,
          undefined,
        );
      });
    },
  };
}

/** The server's own limit answers first when it can; the client's is for when it cannot. */
const CLIENT_GRACE_MS = 1000;

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
  const transient = writeErrors.find(
    (writeError) => writeError.code !== DUPLICATE_KEY && !PERMANENT_WRITE_CODES.has(writeError.code),
  );
  if (transient !== undefined) {
    throw new StoreUnavailableError(
      `bulk write hit per-document error code ${transient.code}, not known to be permanent: ${transient.errmsg ?? ''}`,
      error,
    );
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
