import type { IHeaders } from 'kafkajs';
import { mongo } from 'mongoose';
import {
  deadLetterId,
  eraseDeadLetters,
  HEADERS,
  withTimeLimit,
  type DeadLetterDocument,
  type DeadLetterModel,
} from '@activity-logger/shared';
import { headerText } from './consumed-message';
import type { DeadLetter } from './dead-letters';
import { StoreUnavailableError } from './errors';
import { DUPLICATE_KEY, PERMANENT_WRITE_CODES } from './event-writer';

/**
 * Keeps every dead letter in the store beside the DLQ topic, so receipts and the admin views are
 * queries rather than topic scans.
 */
export interface DeadLetterStore {
  /**
   * Resolves once every letter is in the store; throws a retriable error otherwise. Letters in
   * `erased` belong to an erased user: they are stored emptied and discarded (see eraseDeadLetters).
   */
  record(letters: readonly DeadLetter[], failedAt: Date, erased?: ReadonlySet<DeadLetter>): Promise<void>;
  /** Empties letters already stored whose user was erased while they were being written. */
  emptyErased(letters: readonly DeadLetter[], at: Date): Promise<void>;
}

/** Whose event a letter held, and when it was accepted, where the value says so. */
export function letterOwner(letter: DeadLetter): { userId?: string; receivedAt?: Date } {
  const json = readJsonObject(letter.message.value);
  const userId = identifier(json?.userId);
  const receivedAt = instant(json?.receivedAt);
  return { ...(userId === undefined ? {} : { userId }), ...(receivedAt === undefined ? {} : { receivedAt }) };
}

/** The stored form of an erased user's letter: that it was, and why, but nothing of the event. */
function erasedForm(doc: DeadLetterDocument, at: Date): DeadLetterDocument {
  const { userId: _userId, ...rest } = doc;
  return {
    ...rest,
    key: null,
    value: null,
    headers: {},
    detail: '(erased)',
    state: 'discarded',
    resolution: { by: 'worker', at, reason: 'user erased' },
  };
}

const MAX_DETAIL_CHARS = 1000;
/** Identifiers read from a poison value are kept only when they look like identifiers. */
const MAX_ID_CHARS = 256;

/**
 * The stored form of a letter: the original bytes untouched, and what can be read of the event
 * (headers first, since the API sets them; then the value's JSON when it parses). Text that came
 * from the message is made storable: FerretDB refuses NUL in strings and `.`/leading `$` in keys,
 * and a letter the store refuses for good would stall its partition.
 */
export function toDeadLetterDocument(letter: DeadLetter, failedAt: Date): DeadLetterDocument {
  const { message } = letter;
  const json = readJsonObject(message.value);
  const eventId = identifier(headerText(message.headers, HEADERS.eventId)) ?? identifier(json?.eventId);
  const traceId = identifier(headerText(message.headers, HEADERS.traceId)) ?? identifier(json?.traceId);
  const source = identifier(json?.source);
  const { userId, receivedAt } = letterOwner(letter);
  const detail =
    letter.detail.length > MAX_DETAIL_CHARS ? `${letter.detail.slice(0, MAX_DETAIL_CHARS)}…` : letter.detail;
  return {
    _id: deadLetterId(message.topic, message.partition, message.offset),
    topic: message.topic,
    partition: message.partition,
    offset: Number(message.offset),
    reason: letter.reason,
    detail: storableText(detail),
    failedAt,
    key: message.key,
    value: message.value,
    headers: storableHeaders(message.headers),
    ...(eventId === undefined ? {} : { eventId }),
    ...(source === undefined ? {} : { source }),
    ...(userId === undefined ? {} : { userId }),
    ...(traceId === undefined ? {} : { traceId }),
    ...(receivedAt === undefined ? {} : { receivedAt }),
    state: 'open',
  };
}

function readJsonObject(value: Buffer | null): Record<string, unknown> | undefined {
  if (value === null) return undefined;
  try {
    const parsed: unknown = JSON.parse(value.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function identifier(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_CHARS) return undefined;
  return value.includes('\u0000') ? undefined : value;
}

function instant(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD');
}

/** Header names percent-encode `%`, `.` and `$` (names are free text on the wire); values are text. */
export function storableHeaders(headers: IHeaders): Record<string, string> {
  const stored: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const value = headerText(headers, name);
    if (value === undefined) continue;
    const key = name
      .replace(/[%.$]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replaceAll('\u0000', '%00');
    stored[key === '' ? '%' : key] = storableText(value);
  }
  return stored;
}

/**
 * Inserts letters by `<topic>:<partition>:<offset>`, unordered, and takes "already there" (11000)
 * as done: a batch retried after a failure writes the same letters again and changes nothing, and
 * in particular never reopens a letter an admin has replayed or discarded meanwhile. (Inserts rather
 * than `$setOnInsert` upserts: the same effect, and FerretDB upserts thousands of letters too slowly
 * for a poison burst.) A letter the store refuses for good is stored again without its original
 * bytes and headers (still on the DLQ topic), so it cannot stall its partition.
 */
export function createMongoDeadLetterStore(
  model: DeadLetterModel,
  options: { writeTimeoutMs: number },
): DeadLetterStore {
  const collection = model.collection as unknown as mongo.Collection<DeadLetterDocument>;
  const { writeTimeoutMs } = options;

  /** Inserts `docs`; resolves with those the store refused for good. */
  async function insert(docs: DeadLetterDocument[]): Promise<DeadLetterDocument[]> {
    const write = collection.insertMany(docs, { ordered: false, maxTimeMS: writeTimeoutMs }).then(
      () => [],
      (error: unknown) => refusedForGood(error, docs),
    );
    return withTimeLimit(write, writeTimeoutMs + 1000, () => {
      throw new StoreUnavailableError(`storing ${docs.length} dead letter(s) did not answer in time`, undefined);
    });
  }

  return {
    async record(letters, failedAt, erased) {
      if (letters.length === 0) return;
      const refused = await insert(
        letters.map((letter) => {
          const doc = toDeadLetterDocument(letter, failedAt);
          return erased?.has(letter) === true ? erasedForm(doc, failedAt) : doc;
        }),
      );
      if (refused.length === 0) return;
      const stripped = await insert(refused.map(withoutOriginal));
      if (stripped.length > 0) {
        throw new StoreUnavailableError(
          `the store refused ${stripped.length} dead letter(s) even without their bytes`,
          undefined,
        );
      }
    },
    async emptyErased(letters, at) {
      if (letters.length === 0) return;
      const ids = letters.map(({ message }) => deadLetterId(message.topic, message.partition, message.offset));
      const work = eraseDeadLetters(
        collection,
        { _id: { $in: ids } },
        { by: 'worker', at },
        { maxTimeMS: writeTimeoutMs },
      )
        .then(() => undefined)
        .catch((error: unknown) => {
          throw new StoreUnavailableError(`emptying erased dead letters failed: ${(error as Error).message}`, error);
        });
      await withTimeLimit(work, writeTimeoutMs + 1000, () => {
        throw new StoreUnavailableError('emptying erased dead letters did not answer in time', undefined);
      });
    },
  };
}

/** The letters a failed insert refused for good; throws a retriable error for anything else. */
function refusedForGood(error: unknown, docs: readonly DeadLetterDocument[]): DeadLetterDocument[] {
  if (!(error instanceof mongo.MongoBulkWriteError)) {
    throw new StoreUnavailableError(`dead letters not stored: ${(error as Error).message}`, error);
  }
  const writeErrors = ([] as mongo.WriteError[]).concat(error.writeErrors);
  const transient = writeErrors.find((e) => e.code !== DUPLICATE_KEY && !PERMANENT_WRITE_CODES.has(e.code));
  if (writeErrors.length === 0 || transient !== undefined) {
    throw new StoreUnavailableError(`dead letters not stored: ${error.message}`, error);
  }
  return writeErrors.filter((e) => e.code !== DUPLICATE_KEY).flatMap((e) => docs[e.index] ?? []);
}

function withoutOriginal(doc: DeadLetterDocument): DeadLetterDocument {
  return {
    ...doc,
    key: null,
    value: null,
    headers: {},
    detail: `${doc.detail} (the store refused the original bytes; they are on the DLQ topic)`,
  };
}
