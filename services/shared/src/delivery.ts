import { Schema, type Connection, type Model, type mongo } from 'mongoose';

/**
 * What the worker records beside the events, so that receipts, the freshness watermark, the live
 * tail, dead letters and erasures are store queries rather than topic scans. The worker writes
 * all three collections; the API reads them (and resolves dead letters and records erasures).
 */

// ── Progress per partition ────────────────────────────────────────────────────────────────────

export interface PartitionProgressDocument {
  /** `<topic>:<partition>`. */
  _id: string;
  topic: string;
  partition: number;
  /** The next offset to process: every offset below it is stored or dead-lettered. */
  committedOffset: number;
  /**
   * Every event the broker acknowledged to this partition before this instant is stored or
   * dead-lettered: the partition was seen caught up (committed offset ≥ the high watermark read
   * at that instant). Only ever moves forward; a stopped worker leaves it behind, never wrong.
   */
  caughtUpThrough?: Date;
  /** The receivedAt of the newest event stored from this partition. */
  lastStoredReceivedAt?: Date;
  updatedAt: Date;
}

export const PROGRESS_COLLECTION = 'partition_progress';

const progressSchema = new Schema<PartitionProgressDocument>(
  {
    _id: { type: String, required: true },
    topic: { type: String, required: true },
    partition: { type: Number, required: true },
    committedOffset: { type: Number, required: true },
    caughtUpThrough: { type: Date },
    lastStoredReceivedAt: { type: Date },
    updatedAt: { type: Date, required: true },
  },
  { collection: PROGRESS_COLLECTION, versionKey: false, strict: true },
);

export function progressId(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export type PartitionProgressModel = Model<PartitionProgressDocument>;

export function partitionProgressModel(connection: Connection): PartitionProgressModel {
  return (
    (connection.models.PartitionProgress as PartitionProgressModel | undefined) ??
    connection.model<PartitionProgressDocument>('PartitionProgress', progressSchema)
  );
}

/**
 * Up to when the whole log is complete: the oldest partition's `caughtUpThrough`, or undefined
 * when some partition of the topic has never been seen caught up (or has no record yet).
 * `partitionCount` is the topic's partition count, so a partition without a record counts.
 */
export function completeThrough(
  progress: readonly Pick<PartitionProgressDocument, 'partition' | 'caughtUpThrough'>[],
  partitionCount: number,
): Date | undefined {
  const seen = new Map(progress.map((p) => [p.partition, p.caughtUpThrough]));
  let oldest: Date | undefined;
  for (let partition = 0; partition < partitionCount; partition += 1) {
    const through = seen.get(partition);
    if (through === undefined) return undefined;
    if (oldest === undefined || through < oldest) oldest = through;
  }
  return oldest;
}

// ── Dead letters ──────────────────────────────────────────────────────────────────────────────

export type DeadLetterState = 'open' | 'replayed' | 'discarded';

export interface DeadLetterDocument {
  /** `<source topic>:<partition>:<offset>`: a letter written twice (a retried batch) is one letter. */
  _id: string;
  topic: string;
  partition: number;
  offset: number;
  /** 'unparseable' | 'schema_invalid' | 'store_rejected' (the worker's DeadLetterReason). */
  reason: string;
  detail: string;
  failedAt: Date;
  /** The original record, byte for byte. */
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** Read from the headers or the value where they can be; absent when they cannot. */
  eventId?: string;
  source?: string;
  userId?: string;
  traceId?: string;
  receivedAt?: Date;
  state: DeadLetterState;
  /**
   * Who replayed or discarded it, when, and why (a discard's reason is required); for a replay,
   * where the event went in the main topic, so its receipt can say how far along it is.
   */
  resolution?: { by: string; at: Date; reason?: string; replayedTo?: { partition: number; offset: number } };
}

export const DEAD_LETTERS_COLLECTION = 'dead_letters';

const deadLetterSchema = new Schema<DeadLetterDocument>(
  {
    _id: { type: String, required: true },
    topic: { type: String, required: true },
    partition: { type: Number, required: true },
    offset: { type: Number, required: true },
    reason: { type: String, required: true },
    detail: { type: String, required: true },
    failedAt: { type: Date, required: true },
    key: { type: Buffer, default: null },
    value: { type: Buffer, default: null },
    headers: { type: Schema.Types.Mixed, required: true },
    eventId: { type: String },
    source: { type: String },
    userId: { type: String },
    traceId: { type: String },
    receivedAt: { type: Date },
    state: { type: String, enum: ['open', 'replayed', 'discarded'], required: true },
    resolution: { type: Schema.Types.Mixed },
  },
  { collection: DEAD_LETTERS_COLLECTION, versionKey: false, strict: true },
);

export function deadLetterId(topic: string, partition: number, offset: number | string): string {
  return `${topic}:${partition}:${offset}`;
}

export type DeadLetterModel = Model<DeadLetterDocument>;

export function deadLetterModel(connection: Connection): DeadLetterModel {
  return (
    (connection.models.DeadLetter as DeadLetterModel | undefined) ??
    connection.model<DeadLetterDocument>('DeadLetter', deadLetterSchema)
  );
}

/**
 * Empties the matching dead letters of everything personal once their user is erased: original
 * key, value and headers, the detail (it quotes the value), and the userId itself. Open letters are
 * discarded first (a replay claiming one meanwhile finds it so); replayed or discarded ones keep
 * their state. Used by the API's erasure and by the worker for letters written around one.
 * Resolves with how many letters matched.
 */
export async function eraseDeadLetters(
  letters: mongo.Collection<DeadLetterDocument>,
  filter: mongo.Filter<DeadLetterDocument>,
  resolution: { by: string; at: Date },
  options: { maxTimeMS: number },
): Promise<number> {
  await letters.updateMany(
    { $and: [filter, { state: 'open' }] },
    { $set: { state: 'discarded', resolution: { ...resolution, reason: 'user erased' } } },
    options,
  );
  const emptied = await letters.updateMany(
    filter,
    { $set: { key: null, value: null, headers: {}, detail: '(erased)' }, $unset: { userId: '' } },
    options,
  );
  return emptied.matchedCount;
}

/** The admin list: by state and time, by reason and time; a receipt: by event. */
export const DEAD_LETTER_INDEXES: ReadonlyArray<{ key: Record<string, 1 | -1>; name: string }> = [
  { key: { state: 1, failedAt: -1, _id: -1 }, name: 'state_failedAt_id' },
  { key: { reason: 1, failedAt: -1, _id: -1 }, name: 'reason_failedAt_id' },
  { key: { eventId: 1 }, name: 'eventId' },
];

// ── Erasures ──────────────────────────────────────────────────────────────────────────────────

export interface ErasureDocument {
  _id: string;
  userId: string;
  /** The name of the admin key that asked. */
  requestedBy: string;
  /**
   * Events of this user received (accepted by the API) before this instant are erased and are
   * never stored afterwards; events received later are stored as usual.
   */
  requestedAt: Date;
  /** How many stored events the erasure deleted (the worker's later skips are not counted). */
  deleted: number;
  /** How many of the user's dead letters it emptied of their bytes (absent on older records). */
  deadLetters?: number;
}

export const ERASURES_COLLECTION = 'erasures';

const erasureSchema = new Schema<ErasureDocument>(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    requestedBy: { type: String, required: true },
    requestedAt: { type: Date, required: true },
    deleted: { type: Number, required: true },
    deadLetters: { type: Number },
  },
  { collection: ERASURES_COLLECTION, versionKey: false, strict: true },
);

export type ErasureModel = Model<ErasureDocument>;

export function erasureModel(connection: Connection): ErasureModel {
  return (
    (connection.models.Erasure as ErasureModel | undefined) ??
    connection.model<ErasureDocument>('Erasure', erasureSchema)
  );
}

/** The worker's check per batch: the erasures of the batch's users. */
export const ERASURE_INDEXES: ReadonlyArray<{ key: Record<string, 1 | -1>; name: string }> = [
  { key: { userId: 1, requestedAt: -1 }, name: 'userId_requestedAt' },
];
