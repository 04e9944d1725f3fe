import type { FilterQuery } from 'mongoose';
import { toStoredEvent, type LogDocument, type LogModel, type StoredEvent } from '@activity-logger/shared';
import type { CursorPosition } from './cursor';

export interface LogQuery {
  readonly userId?: string | undefined;
  readonly action?: string | undefined;
  /** Inclusive. */
  readonly from?: Date | undefined;
  /** Exclusive. */
  readonly to?: Date | undefined;
  readonly order: 'asc' | 'desc';
  readonly limit: number;
  readonly after?: CursorPosition | undefined;
}

export interface LogPage {
  readonly events: StoredEvent[];
  /** Where the next page starts, or undefined when this was the last one. */
  readonly next: CursorPosition | undefined;
}

export interface LogReader {
  find(query: LogQuery): Promise<LogPage>;
  findById(eventId: string): Promise<StoredEvent | undefined>;
  ping(): Promise<void>;
}

/**
 * Reads over the stored events. Every query is a keyset scan in (timestamp, _id) order over one
 * of the indexes in log-model.ts; no skip, no count.
 */
export function createLogReader(model: LogModel): LogReader {
  return {
    async find(query) {
      const conditions: FilterQuery<LogDocument>[] = [];
      if (query.userId !== undefined) conditions.push({ userId: query.userId });
      if (query.action !== undefined) conditions.push({ action: query.action });
      if (query.from !== undefined) conditions.push({ timestamp: { $gte: query.from } });
      if (query.to !== undefined) conditions.push({ timestamp: { $lt: query.to } });
      if (query.after !== undefined) {
        const beyond = query.order === 'desc' ? '$lt' : '$gt';
        conditions.push({
          $or: [
            { timestamp: { [beyond]: query.after.timestamp } },
            { timestamp: query.after.timestamp, _id: { [beyond]: query.after.eventId } },
          ],
        });
      }
      const direction = query.order === 'desc' ? -1 : 1;
      const docs = await model
        .find(conditions.length === 0 ? {} : { $and: conditions })
        .sort({ timestamp: direction, _id: direction })
        .limit(query.limit + 1)
        .lean<LogDocument[]>()
        .exec();
      const page = docs.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        events: page.map(toStoredEvent),
        next:
          docs.length > query.limit && last !== undefined
            ? { timestamp: last.timestamp, eventId: last._id }
            : undefined,
      };
    },

    async findById(eventId) {
      const doc = await model.findById(eventId).lean<LogDocument>().exec();
      return doc === null ? undefined : toStoredEvent(doc);
    },

    async ping() {
      const db = model.db.db;
      if (db === undefined) throw new Error('MongoDB is not connected');
      await db.command({ ping: 1 });
    },
  };
}
