import { Schema, type Connection, type Model } from 'mongoose';
import type { ActivityEvent } from './event';

/**
 * How an event is stored. `_id` is the store key, `<source>/<eventId>` (see `storeKey`): the
 * primary key is the unique key that makes redelivery harmless (a second insert fails with
 * 11000) and costs no extra index, and because it is scoped by the sending key's name, one key
 * can never suppress another key's event by reusing its eventId.
 */
export interface LogDocument {
  _id: string;
  eventId: string;
  /** The name of the API key that sent the event; absent when auth was disabled. */
  source?: string;
  userId: string;
  action: string;
  metadata?: Record<string, unknown>;
  timestamp: Date;
  receivedAt: Date;
  traceId: string;
  /**
   * Where the event was read from Kafka, and when the worker wrote it: the live tail walks
   * partitions by offset up to each one's committed offset, and a receipt says when it was
   * stored. Absent on events stored before these fields existed.
   */
  partition?: number;
  offset?: number;
  storedAt?: Date;
}

export const LOGS_COLLECTION = 'activity_logs';

const logSchema = new Schema<LogDocument>(
  {
    _id: { type: String, required: true },
    eventId: { type: String, required: true },
    source: { type: String },
    userId: { type: String, required: true },
    action: { type: String, required: true },
    metadata: { type: Schema.Types.Mixed },
    timestamp: { type: Date, required: true },
    receivedAt: { type: Date, required: true },
    traceId: { type: String, required: true },
    partition: { type: Number },
    offset: { type: Number },
    storedAt: { type: Date },
  },
  { collection: LOGS_COLLECTION, versionKey: false, strict: true },
);

/**
 * The store key of an event: its eventId within the namespace of the key that sent it. `/` is
 * in neither a key name nor an eventId, so the pair is unambiguous, and an event without a
 * source (auth disabled, or produced before sources existed) keeps its bare eventId, which has
 * no `/` and so can never collide with a sourced one. Deduplication is per (source, eventId).
 */
export function storeKey(source: string | undefined, eventId: string): string {
  return source === undefined ? eventId : `${source}/${eventId}`;
}

/**
 * The indexes behind each supported query (GET /api/logs keeps newest-first or oldest-first
 * order by (timestamp, _id), walked forwards or backwards; `_id` breaks ties because it is
 * unique, which eventId no longer is across sources):
 *   - no filter, or only from/to:       { timestamp, _id }
 *   - userId (with action, source, from, to): { userId, timestamp, _id }  (the rest is filtered in the scan)
 *   - action (with source, from, to):   { action, timestamp, _id }
 *   - source (with from, to):           { source, timestamp, _id }
 *   - GET /api/logs/:eventId:           { eventId } (several sources may share one eventId);
 *     with ?source= the built-in _id index
 *   - the live tail, per partition:     { partition, offset }
 * Retention's TTL index on receivedAt is created separately, because not every server has TTL.
 */
export const QUERY_INDEXES: ReadonlyArray<{ key: Record<string, 1 | -1>; name: string }> = [
  { key: { timestamp: -1, _id: -1 }, name: 'timestamp_id' },
  { key: { userId: 1, timestamp: -1, _id: -1 }, name: 'userId_timestamp_id' },
  { key: { action: 1, timestamp: -1, _id: -1 }, name: 'action_timestamp_id' },
  { key: { source: 1, timestamp: -1, _id: -1 }, name: 'source_timestamp_id' },
  { key: { eventId: 1 }, name: 'eventId' },
  { key: { partition: 1, offset: 1 }, name: 'partition_offset' },
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

/** Where and when the worker stored an event (see LogDocument). */
export interface Placement {
  readonly partition: number;
  readonly offset: number;
  readonly storedAt: Date;
}

export function toLogDocument(event: ActivityEvent, placement?: Placement): LogDocument {
  return {
    _id: storeKey(event.source, event.eventId),
    eventId: event.eventId,
    ...(event.source === undefined ? {} : { source: event.source }),
    userId: event.userId,
    action: event.action,
    ...(event.metadata === undefined ? {} : { metadata: event.metadata }),
    timestamp: event.timestamp,
    receivedAt: event.receivedAt,
    traceId: event.traceId,
    ...(placement === undefined
      ? {}
      : { partition: placement.partition, offset: placement.offset, storedAt: placement.storedAt }),
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
  source?: string;
  storedAt?: string;
}

export function toStoredEvent(doc: LogDocument): StoredEvent {
  return {
    // Documents stored before sources existed have no eventId field: their _id is the eventId.
    eventId: doc.eventId ?? doc._id,
    userId: doc.userId,
    action: doc.action,
    ...(doc.metadata === undefined ? {} : { metadata: doc.metadata }),
    timestamp: doc.timestamp.toISOString(),
    receivedAt: doc.receivedAt.toISOString(),
    traceId: doc.traceId,
    ...(doc.source === undefined || doc.source === null ? {} : { source: doc.source }),
    ...(doc.storedAt instanceof Date ? { storedAt: doc.storedAt.toISOString() } : {}),
  };
}
