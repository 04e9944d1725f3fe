import type { mongo } from 'mongoose';
import { toStoredEvent, type LogDocument, type LogModel, type StoredEvent } from '@activity-logger/shared';
import { filterConditions, LogReadError, type EventFilters } from './log-reader';
import { isTimeLimit, isUnreachable } from '../store-errors';
import { allOf } from './store-filter';

export interface ExportQuery extends EventFilters {
  readonly order: 'asc' | 'desc';
}

/** Everything a query matches, in (timestamp, _id) order, batch by batch. */
export interface LogExporter {
  batches(query: ExportQuery, signal: AbortSignal): AsyncIterable<StoredEvent[]>;
}

export interface ExportSettings {
  /** Events per store round trip (the cursor's batchSize). */
  readonly batchSize: number;
  /**
   * The server's time for the whole export (maxTimeMS of the cursor, which MongoDB counts
   * across its getMores, and which excludes the time spent waiting for a slow client).
   */
  readonly timeoutMs: number;
  /**
   * One later batch's bound on the client side, should the server not honour maxTimeMS or the
   * network hang. The first batch is bounded by `timeoutMs` instead: it holds the sort of
   * everything matched, which a store without a usable index (FerretDB on SQLite) does in memory
   * — about 30 s for 100,000 events on the development machine.
   */
  readonly batchTimeoutMs: number;
}

/**
 * One store cursor per export: a sort is done once, then batches stream with getMore, rather
 * than a keyset query per batch that would sort again each time. The cursor is closed as soon as
 * the export stops, whoever stops it: once `signal` (the client leaving) is aborted, no further
 * batch is asked for, and the one the store is working on is awaited, then the cursor killed.
 */
export function createLogExporter(model: LogModel, settings: ExportSettings): LogExporter {
  const collection = model.collection as unknown as mongo.Collection<LogDocument>;
  return {
    async *batches(query, signal) {
      const direction = query.order === 'desc' ? -1 : 1;
      const conditions = filterConditions(query);
      const watchdog = new AbortController();
      const cursor = collection.find(allOf(conditions) as mongo.Filter<LogDocument>, {
        sort: { timestamp: direction, _id: direction },
        batchSize: settings.batchSize,
        maxTimeMS: settings.timeoutMs,
        // Not the client's signal: a store read is never cut for a client that left (the store
        // may go on working regardless, FerretDB does); the export stops at the next batch
        // instead, so the export's slot stays held as long as the store works for it.
        signal: watchdog.signal,
      });
      let bound = settings.timeoutMs + 1000;
      try {
        for (;;) {
          const limitMs = bound;
          const timer = setTimeout(() => watchdog.abort(new Error(`a batch took longer than ${limitMs} ms`)), limitMs);
          bound = settings.batchTimeoutMs;
          let batch: LogDocument[];
          try {
            if (signal.aborted) return;
            const first = await cursor.next();
            if (first === null) return;
            // What the driver holds of the current batch, without another round trip.
            batch = [first, ...cursor.readBufferedDocuments()];
          } catch (error) {
            if (signal.aborted) throw error;
            if (watchdog.signal.aborted || isTimeLimit(error)) {
              throw new LogReadError('QUERY_TIMEOUT', 'the export ran out of time', error);
            }
            if (isUnreachable(error)) {
              throw new LogReadError('STORE_UNAVAILABLE', 'the store cannot be reached', error);
            }
            throw error;
          } finally {
            clearTimeout(timer);
          }
          yield batch.map(toStoredEvent);
        }
      } finally {
        await cursor.close().catch(() => undefined);
      }
    },
  };
}
