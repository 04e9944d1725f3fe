import { Schema, type Connection, type Model } from 'mongoose';
import type { ActivityEvent } from './event';

/**
 * How an event is stored. `_id` is the eventId: the primary key is the unique key that makes
 * redelivery harmless (a second insert fails with 11000), and it costs no extra index.
 */
export interface LogDocument {
  _id: string;
  userId: string;
  action: string;
  metadata?: Record<string, unknown>;
  timestamp: Date;
  receivedAt: Date;
  traceId: string;
}

export const LOGS_COLLECTION = 'activity_logs';

const logSchema = new Schema<LogDocument>(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    action: { type: String, required: true },
    metadata: { type: Schema.Types.Mixed },
    timestamp: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    traceId: { type: String, required: true },
  },
  { collection: LOGS_COLLECTION, versionKey: false, strict: true },
);

/**
 * The indexes behind each supported query (GET /api/logs keeps newest-first or oldest-first
 * order by (timestamp, _id), walked forwards or backwards):
 *   - no filter, or only from/to:       { timestamp, _id }
 *   - userId (with action, from, to):   { userId, timestamp, _id }  (action is filtered in the scan)
 *   - action (with from, to):           { action, timestamp, _id }
 *   - GET /api/logs/:eventId:           the built-in _id index
 * Retention's TTL index on receivedAt is created separately, because not every server has TTL.
 */
export const QUERY_INDEXES: ReadonlyArray<{ key: Record<string, 1 | -1>; name: string }> = [
  { key: { timestamp: -1, _id: -1 }, name: 'timestamp_id' },
  { key: { userId: 1, timestamp: -1, _id: -1 }, name: 'userId_timestamp_id' },
  { key: { action: 1, timestamp: -1, _id: -1 }, name: 'action_timestamp_id' },
];

export type LogModel = Model<LogDocument>;

export function logModel(connection: Connection): LogModel {
  return (
    (connection.models.ActivityLog as LogModel | undefined) ?? connection.model<LogDocument>('ActivityLog', logSchema)
  );
}

/** Creates the collection and the query indexes; safe to run on every start, by every replica. */
export async function ensureQueryIndexes(model: LogModel): Promise<void> {
  await model.createCollection().catch((error: unknown) => {
    // 48 NamespaceExists: another replica created it first.
    if ((error as { code?: number }).code !== 48) throw error;
  });
  const existing = new Set((await model.collection.indexes()).map((index) => index.name));
  // Only the missing ones, one at a time: FerretDB 1.24 drops the connection (a server-side
  // panic) when one createIndexes command names indexes that already exist.
  for (const { key, name } of QUERY_INDEXES) {
    if (!existing.has(name)) await model.collection.createIndex(key, { name });
  }
}

export function toLogDocument(event: ActivityEvent): LogDocument {
  return {
    _id: event.eventId,
    userId: event.userId,
    action: event.action,
    ...(event.metadata === undefined ? {} : { metadata: event.metadata }),
    timestamp: event.timestamp,
    receivedAt: event.receivedAt,
    traceId: event.traceId,
  };
}

/** The shape GET returns: the stored event under its public field names. */
export interface StoredEvent {
  eventId: string;
  userId: string;
  action: string;
  metadata?: Record<string, unknown>;
  timestamp: string;
  receivedAt: string;
  traceId: string;
}

export function toStoredEvent(doc: LogDocument): StoredEvent {
  return {
    eventId: doc._id,
    userId: doc.userId,
    action: doc.action,
    ...(doc.metadata === undefined ? {} : { metadata: doc.metadata }),
    timestamp: doc.timestamp.toISOString(),
    receivedAt: doc.receivedAt.toISOString(),
    traceId: doc.traceId,
  };
}
