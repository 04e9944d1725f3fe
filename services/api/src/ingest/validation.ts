import { z } from 'zod';
import { clientEventSchema, type ClientEvent } from '@activity-logger/shared';
import type { ErrorDetail } from '../http/errors';

export const MAX_BATCH_EVENTS = 1000;

export type Validated<T> = { ok: true; value: T } | { ok: false; details: ErrorDetail[] };

function describe(issues: readonly z.core.$ZodIssue[], index?: number): ErrorDetail[] {
  return issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = [...issue.path, ...(keys.length === 1 ? keys : [])].map(String).join('.');
    return {
      ...(index === undefined ? {} : { index }),
      path: path === '' ? '(body)' : path,
      message: issue.message,
    };
  });
}

export function validateEvent(body: unknown): Validated<ClientEvent> {
  const result = clientEventSchema.safeParse(body);
  return result.success ? { ok: true, value: result.data } : { ok: false, details: describe(result.error.issues) };
}

const batchEnvelope = z.strictObject({
  events: z
    .array(z.unknown())
    .min(1, 'send at least one event')
    .max(MAX_BATCH_EVENTS, `at most ${MAX_BATCH_EVENTS} events`),
});

/** All or nothing: every bad event is reported by index and field path, and none is accepted. */
export function validateBatch(body: unknown): Validated<ClientEvent[]> {
  const envelope = batchEnvelope.safeParse(body);
  if (!envelope.success) return { ok: false, details: describe(envelope.error.issues) };
  const events: ClientEvent[] = [];
  const details: ErrorDetail[] = [];
  const firstIndexOf = new Map<string, number>();
  envelope.data.events.forEach((candidate, index) => {
    const result = clientEventSchema.safeParse(candidate);
    if (!result.success) {
      details.push(...describe(result.error.issues, index));
      return;
    }
    events.push(result.data);
    // Two events under one eventId in one request: the store would keep the first and count the
    // second as a redelivery, so the second would be accepted and silently dropped.
    const { eventId } = result.data;
    if (eventId === undefined) return;
    const first = firstIndexOf.get(eventId);
    if (first === undefined) firstIndexOf.set(eventId, index);
    else details.push({ index, path: 'eventId', message: `repeats the eventId of event ${first} in this batch` });
  });
  return details.length === 0 ? { ok: true, value: events } : { ok: false, details };
}
