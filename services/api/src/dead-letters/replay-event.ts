import { z } from 'zod';
import { completeEvent, sourceSchema, wireEventSchema, type ActivityEvent } from '@activity-logger/shared';
import type { ErrorDetail } from '../http/errors';
import { validateEvent } from '../ingest/validation';
import type { StoredLetter } from './letter-store';
import { letterBytes, utf8Text } from './views';

/**
 * The optional body of a replay: a corrected event, validated exactly like `POST /api/logs`, and
 * the source, which only a letter whose source could not be read needs (an unparseable record
 * carries none in its headers).
 */
export const replayBodySchema = z.strictObject({
  event: z
    .record(z.string(), z.unknown())
    .optional()
    .meta({ description: 'the corrected event, as POST /api/logs takes it' }),
  source: sourceSchema
    .optional()
    .meta({ description: 'only for a letter whose source could not be read: the API key name to store it under' }),
});

export type ReplayBody = z.output<typeof replayBodySchema>;

export type BuiltEvent =
  | { ok: true; event: ActivityEvent }
  /** The request itself is wrong (a 400): a bad corrected event, a source that is not the letter's. */
  | { ok: false; kind: 'invalid'; details: ErrorDetail[] }
  /** The letter cannot go back as it is (a 422): it needs a corrected event, or a source. */
  | { ok: false; kind: 'needs_correction'; details: ErrorDetail[] };

/** What the original value says, as far as it can be read. */
function readOriginal(letter: StoredLetter): { json: unknown; receivedAt?: Date; eventId?: string } {
  const text = utf8Text(letterBytes(letter.value));
  if (text === undefined) return { json: undefined };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { json: undefined };
  }
  const fields = (json !== null && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  const receivedAt = typeof fields.receivedAt === 'string' ? new Date(fields.receivedAt) : undefined;
  return {
    json,
    ...(receivedAt !== undefined && !Number.isNaN(receivedAt.getTime()) ? { receivedAt } : {}),
    ...(typeof fields.eventId === 'string' ? { eventId: fields.eventId } : {}),
  };
}

/**
 * The event a replay produces. It keeps the letter's eventId and source (never the admin's key
 * name: the event is still the sender's), its original traceId, and its original receivedAt:
 * an erasure of the user requested after the original acceptance must still keep this event out
 * of the store (the worker compares receivedAt with the erasure's requestedAt), so a replay must
 * not make the event look newer than it is. Without a readable receivedAt, failedAt is used, the
 * earliest instant the letter itself proves.
 */
export function buildReplayEvent(
  letter: StoredLetter,
  body: ReplayBody | undefined,
  context: { traceId: string; authDisabled: boolean; mintId: () => string },
): BuiltEvent {
  const original = readOriginal(letter);
  const details: ErrorDetail[] = [];

  if (letter.source !== undefined && body?.source !== undefined && body.source !== letter.source) {
    details.push({ path: 'source', message: `the letter's source is "${letter.source}"; leave "source" out` });
  }
  const source = letter.source ?? body?.source;
  if (source === undefined && !context.authDisabled) {
    return {
      ok: false,
      kind: 'needs_correction',
      details: [{ path: 'source', message: 'the letter names no source; send the API key name as "source"' }],
    };
  }

  if (body?.event === undefined) {
    if (details.length > 0) return { ok: false, kind: 'invalid', details };
    const wire = wireEventSchema.safeParse(original.json);
    if (!wire.success) {
      return {
        ok: false,
        kind: 'needs_correction',
        details: [
          { path: 'event', message: 'the original value is not a valid event; send a corrected one as "event"' },
          ...wire.error.issues.map((issue) => ({
            path: ['value', ...issue.path.map(String)].join('.'),
            message: issue.message,
          })),
        ],
      };
    }
    const eventId = letter.eventId ?? wire.data.eventId;
    return {
      ok: true,
      event: { ...wire.data, eventId, ...(source === undefined ? {} : { source }) },
    };
  }

  const validated = validateEvent(body.event);
  if (!validated.ok) {
    details.push(...validated.details.map((detail) => ({ ...detail, path: `event.${detail.path}` })));
    return { ok: false, kind: 'invalid', details };
  }
  const eventId = letter.eventId ?? original.eventId;
  if (eventId !== undefined && validated.value.eventId !== undefined && validated.value.eventId !== eventId) {
    details.push({ path: 'event.eventId', message: `a replay keeps the letter's eventId "${eventId}"` });
  }
  if (details.length > 0) return { ok: false, kind: 'invalid', details };
  const receivedAt = letter.receivedAt ?? original.receivedAt ?? letter.failedAt;
  const fixedId = eventId ?? validated.value.eventId;
  return {
    ok: true,
    event: completeEvent(
      { ...validated.value, ...(fixedId === undefined ? {} : { eventId: fixedId }) },
      {
        receivedAt,
        traceId: letter.traceId ?? context.traceId,
        source,
        mintId: context.mintId,
      },
    ),
  };
}
