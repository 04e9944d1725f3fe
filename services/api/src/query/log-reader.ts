import type { mongo } from 'mongoose';
import {
  AppError,
  storeKey,
  toStoredEvent,
  type LogDocument,
  type LogModel,
  type StoredEvent,
} from '@activity-logger/shared';
import { allOf } from './store-filter';
import { isTimeLimit, isUnreachable } from '../store-errors';

/** The filters GET /api/logs takes; the tail and the export apply the same ones. */
export interface EventFilters {
  readonly userId?: string | undefined;
  readonly action?: string | undefined;
  readonly source?: string | undefined;
  /** Inclusive, on timestamp. */
  readonly from?: Date | undefined;
  /** Exclusive, on timestamp. */
  readonly to?: Date | undefined;
}

/** The store conditions of the filters, to be joined with `allOf` (see store-filter.ts). */
export function filterConditions(filters: EventFilters): mongo.Filter<LogDocument>[] {
  const conditions: mongo.Filter<LogDocument>[] = [];
  if (filters.userId !== undefined) conditions.push({ userId: filters.userId });
  if (filters.action !== undefined) conditions.push({ action: filters.action });
  if (filters.source !== undefined) conditions.push({ source: filters.source });
  if (filters.from !== undefined) conditions.push({ timestamp: { $gte: filters.from } });
  if (filters.to !== undefined) conditions.push({ timestamp: { $lt: filters.to } });
  return conditions;
}

export interface LogQuery extends EventFilters {
  readonly order: 'asc' | 'desc';
  readonly limit: number;
  readonly after?: PagePosition | undefined;
}

/** Where a page ended: the sort key of its last event (`key` is the store key, unique). */
export interface PagePosition {
  readonly timestamp: Date;
  readonly key: string;
}

export interface LogPage {
  readonly events: StoredEvent[];
  /** Where the next page starts, or undefined when this was the last one. */
  readonly next: PagePosition | undefined;
}

export interface ReadOptions {
  /** Aborted when the client has gone: the store stops working for nobody. */
  readonly signal?: AbortSignal | undefined;
}

export interface LogReader {
  find(query: LogQuery, options?: ReadOptions): Promise<LogPage>;
  /**
   * The events with this eventId: one per source that used it (several sources may), at most
   * `limit`; with `source`, only that source's.
   */
  findByEventId(
    eventId: string,
    filter: { source?: string | undefined; limit: number },
    options?: ReadOptions,
  ): Promise<StoredEvent[]>;
  ping(): Promise<void>;
}

/** A store read that did not finish in time, or a store that could not be reached. */
export class LogReadError extends AppError {
  constructor(code: 'QUERY_TIMEOUT' | 'STORE_UNAVAILABLE', message: string, cause: unknown) {
    super(code, message, { retriable: true, cause });
  }
}

/**
 * Reads over the stored events. Every query is a keyset scan in (timestamp, _id) order over one
 * of the indexes in log-model.ts; no skip, no count. Each read is bounded twice: `maxTimeMS` makes
 * the server give up after `timeoutMs`, and the driver is aborted a second later in case the
 * server does not honour it (or the network hangs), or as soon as the client has gone.
 */
export function createLogReader(model: LogModel, settings: { timeoutMs: number }): LogReader {
  const collection = model.collection as unknown as mongo.Collection<LogDocument>;
  const clientBoundMs = settings.timeoutMs + 1000;

  async function bounded<T>(read: (options: mongo.FindOptions & mongo.Abortable) => Promise<T>, options?: ReadOptions) {
    const deadline = AbortSignal.timeout(clientBoundMs);
    const signal = options?.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
    try {
      return await read({ maxTimeMS: settings.timeoutMs, signal });
    } catch (error) {
      if (options?.signal?.aborted === true) throw error; // nobody is waiting for an answer
      if (deadline.aborted || isTimeLimit(error)) {
        throw new LogReadError('QUERY_TIMEOUT', `the store did not answer within ${settings.timeoutMs} ms`, error);
      }
      if (isUnreachable(error)) {
        throw new LogReadError('STORE_UNAVAILABLE', 'the store cannot be reached', error);
      }
      throw error;
    }
  }

  return {
    async find(query, options) {
      const conditions = filterConditions(query);
      if (query.after !== undefined) {
        const beyond = query.order === 'desc' ? '$lt' : '$gt';
        conditions.push({
          $or: [
            { timestamp: { [beyond]: query.after.timestamp } },
            { timestamp: query.after.timestamp, _id: { [beyond]: query.after.key } },
          ],
        });
      }
      const direction = query.order === 'desc' ? -1 : 1;
      const docs = await bounded(
        (bounds) =>
          collection
            .find(allOf(conditions) as mongo.Filter<LogDocument>, {
              ...bounds,
              sort: { timestamp: direction, _id: direction },
              limit: query.limit + 1,
            })
            .toArray(),
        options,
      );
      const page = docs.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        events: page.map(toStoredEvent),
        next:
          docs.length > query.limit && last !== undefined ? { timestamp: last.timestamp, key: last._id } : undefined,
      };
    },

    async findByEventId(eventId, filter, options) {
      const find = (condition: mongo.Filter<LogDocument>, limit: number) =>
        bounded((bounds) => collection.find(condition, { ...bounds, sort: { _id: 1 }, limit }).toArray(), options);
      if (filter.source !== undefined) {
        return (await find({ _id: storeKey(filter.source, eventId) }, filter.limit)).map(toStoredEvent);
      }
      // The eventId in any source, and an event stored without a source (auth disabled, or before
      // sources), whose _id is the bare eventId. Two lookups rather than one `$or`: MongoDB serves
      // each from an index either way, but FerretDB (the local stack) hands only a plain field
      // equality to its backend's index and would read the whole collection for an `$or`.
      const [sourced, bare] = await Promise.all([find({ eventId }, filter.limit), find({ _id: eventId }, 1)]);
      const seen = new Set(sourced.map((doc) => doc._id));
      // Ids are ASCII (eventId and source patterns), so this order is the store's byte order.
      const docs = [...sourced, ...bare.filter((doc) => !seen.has(doc._id))].sort((a, b) =>
        a._id < b._id ? -1 : a._id > b._id ? 1 : 0,
      );
      return docs.slice(0, filter.limit).map(toStoredEvent);
    },

    async ping() {
      const db = model.db.db;
      if (db === undefined) throw new Error('MongoDB is not connected');
      await db.command({ ping: 1 });
    },
  };
}
