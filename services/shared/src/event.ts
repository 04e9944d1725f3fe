import { z } from 'zod';

/**
 * The activity event, in the three shapes it takes:
 *   - `clientEventSchema`: what a client may POST (strict; the server fills in the rest);
 *   - `ActivityEvent`: the complete event, as produced to Kafka and stored;
 *   - `wireEventSchema`: how the worker validates what it reads back from Kafka.
 */

export const LIMITS = {
  idLength: 128,
  eventIdLength: 64,
  metadataBytes: 16 * 1024,
  metadataDepth: 10,
} as const;

/** Client idempotency keys: safe in URLs, logs and Kafka headers without escaping. */
export const eventIdSchema = z
  .string()
  .min(1)
  .max(LIMITS.eventIdLength)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'only letters, digits and _ . : - are allowed');

/** NUL (U+0000) cannot be stored by every server (see the API's exact-json.ts); refused in every string. */
const NO_NUL_MESSAGE = 'must not contain NUL (U+0000)';
const boundedString = z
  .string()
  .min(1)
  .max(LIMITS.idLength)
  .refine((value) => !value.includes('\u0000'), NO_NUL_MESSAGE);

/**
 * The name of the API key that sent an event (its `source`). Names never contain `:` (the key
 * configuration separator) nor `/` (the separator of the store key, see log-model.ts).
 */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const sourceSchema = z.string().regex(KEY_NAME_PATTERN, 'must be 1–64 characters of A-Z a-z 0-9 _ -');

/**
 * Metadata must be a plain JSON object that MongoDB can store as given: no key may start with `$`
 * (operators), contain `.` (paths) or NUL, and the whole is bounded in size and depth so that one
 * client cannot make documents, indexes or Kafka batches arbitrarily large.
 */
export const metadataSchema = z.record(z.string(), z.unknown()).superRefine((metadata, ctx) => {
  const problem = findMetadataProblem(metadata, 1, []);
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
    return;
  }
  const size = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
  if (size > LIMITS.metadataBytes) {
    ctx.addIssue({
      code: 'custom',
      message: `metadata is ${size} bytes serialized; at most ${LIMITS.metadataBytes} are allowed`,
    });
  }
});

function findMetadataProblem(
  value: unknown,
  depth: number,
  path: (string | number)[],
): { message: string; path: (string | number)[] } | undefined {
  if (typeof value === 'string' && value.includes('\u0000')) return { message: NO_NUL_MESSAGE, path };
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > LIMITS.metadataDepth) {
    return { message: `metadata is nested deeper than ${LIMITS.metadataDepth} levels`, path };
  }
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  for (const [key, child] of entries) {
    if (typeof key === 'string') {
      if (key.startsWith('$')) return { message: 'keys must not start with "$"', path: [...path, key] };
      if (key.includes('.')) return { message: 'keys must not contain "."', path: [...path, key] };
      if (key.includes('\0')) return { message: 'keys must not contain NUL', path: [...path, key] };
    }
    const problem = findMetadataProblem(child, depth + 1, [...path, key]);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * The instants whose ISO 8601 form has a four-digit, non-negative year (0000–9999). Others
 * serialise as `+010000-…` or `-000001-…`, which ISO parsers (the worker's among them) refuse,
 * so such an event would be accepted and then never stored. Both timestamp forms share them.
 */
export const MIN_TIMESTAMP_MS = Date.parse('0000-01-01T00:00:00.000Z');
export const MAX_TIMESTAMP_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export const isStorableInstant = (date: Date) =>
  !Number.isNaN(date.getTime()) && date.getTime() >= MIN_TIMESTAMP_MS && date.getTime() <= MAX_TIMESTAMP_MS;
export const TIMESTAMP_RANGE_MESSAGE = 'must be between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z';

/** ISO 8601 with a time zone, or epoch milliseconds; both become a Date. */
export const timestampSchema = z.union([
  z.iso
    .datetime({ offset: true })
    .transform((value) => new Date(value))
    .refine(isStorableInstant, TIMESTAMP_RANGE_MESSAGE),
  z
    .number()
    .int()
    .min(MIN_TIMESTAMP_MS, TIMESTAMP_RANGE_MESSAGE)
    .max(MAX_TIMESTAMP_MS, TIMESTAMP_RANGE_MESSAGE)
    .transform((value) => new Date(value)),
]);

export const clientEventSchema = z.strictObject({
  userId: boundedString,
  action: boundedString,
  metadata: metadataSchema.optional(),
  timestamp: timestampSchema.optional(),
  eventId: eventIdSchema.optional(),
});

export type ClientEvent = z.output<typeof clientEventSchema>;

export interface ActivityEvent {
  readonly eventId: string;
  readonly userId: string;
  readonly action: string;
  readonly metadata?: Record<string, unknown>;
  readonly timestamp: Date;
  readonly receivedAt: Date;
  readonly traceId: string;
  /** The name of the API key that sent it; absent when auth is disabled (local development). */
  readonly source?: string;
}

/** Completes a validated client event with what only the server knows. */
export function completeEvent(
  event: ClientEvent,
  context: { receivedAt: Date; traceId: string; mintId: () => string; source?: string | undefined },
): ActivityEvent {
  return {
    eventId: event.eventId ?? context.mintId(),
    userId: event.userId,
    action: event.action,
    ...(event.metadata === undefined ? {} : { metadata: event.metadata }),
    timestamp: event.timestamp ?? context.receivedAt,
    receivedAt: context.receivedAt,
    traceId: context.traceId,
    ...(context.source === undefined ? {} : { source: context.source }),
  };
}

/** Kafka message value: JSON with ISO dates; `v` lets a later format coexist with this one. */
export function encodeEvent(event: ActivityEvent): string {
  return JSON.stringify({
    v: 1,
    eventId: event.eventId,
    userId: event.userId,
    action: event.action,
    metadata: event.metadata,
    timestamp: event.timestamp.toISOString(),
    receivedAt: event.receivedAt.toISOString(),
    traceId: event.traceId,
    source: event.source,
  });
}

/**
 * Version 1 of the wire format, read leniently: fields this worker does not know are ignored
 * (stripped), so an API that adds an optional field can be deployed before the workers. Fields it
 * does know are checked as strictly as ever. A change old workers must not misread (a field that
 * changes meaning, a required new field) gets a new `v`, which old workers dead-letter as
 * schema_invalid — replayable once they are upgraded — instead of storing it wrong.
 */
export const wireEventSchema = z
  .object({
    v: z.literal(1),
    eventId: eventIdSchema,
    userId: boundedString,
    action: boundedString,
    metadata: metadataSchema.optional(),
    timestamp: z.iso.datetime({ offset: true }),
    receivedAt: z.iso.datetime({ offset: true }),
    traceId: z.string().min(1).max(LIMITS.idLength),
    source: sourceSchema.optional(),
  })
  .transform(({ v: _v, timestamp, receivedAt, metadata, ...rest }): ActivityEvent => ({
    ...rest,
    ...(metadata === undefined ? {} : { metadata }),
    timestamp: new Date(timestamp),
    receivedAt: new Date(receivedAt),
  }));

/** Kafka header names; the traceId travels in headers so it can be read without decoding. */
export const HEADERS = {
  traceId: 'trace-id',
  eventId: 'event-id',
  contentType: 'content-type',
} as const;
