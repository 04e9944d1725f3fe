import { z } from 'zod';
import { sourceSchema } from '@activity-logger/shared';
import { erasureListSchema, statusQuerySchema } from '../delivery/routes';

type JsonSchema = Record<string, unknown>;
type Answer = ReturnType<Helpers['error']>;

/** The document's own helpers, handed over so these paths read like the others. */
export interface Helpers {
  json(schema: z.ZodType, description: string): { description: string; content: Record<string, unknown> };
  error(description: string): { description: string; content: Record<string, unknown> };
  jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema;
  queryParameters(schema: z.ZodType): JsonSchema[];
  readErrors: Record<string, Answer>;
  common: Record<string, Answer>;
  completeThroughHeader: Record<string, unknown>;
}

const isoInstant = z.iso.datetime({ offset: true });

const receiptSchema = z.strictObject({
  eventId: z.string(),
  source: sourceSchema.optional(),
  state: z.enum(['stored', 'dead_lettered', 'pending', 'removed', 'unknown']).meta({
    description:
      'stored; dead_lettered (see deadLetter); pending (in Kafka, not reached yet: needs ?at=); removed (the ' +
      'worker is past it but it is not kept: its user was erased, or retention expired it); unknown',
  }),
  storedAt: isoInstant.optional(),
  deadLetter: z
    .strictObject({
      id: z.string(),
      reason: z.string(),
      detail: z.string(),
      failedAt: isoInstant,
      state: z.enum(['open', 'replayed', 'discarded']),
    })
    .optional(),
  pending: z
    .strictObject({
      partition: z.number().int().min(0),
      offset: z.number().int().min(0),
      ahead: z.number().int().min(0).meta({ description: 'events before it in its partition not processed yet' }),
    })
    .optional(),
  completeThrough: isoInstant.nullable(),
});

const erasureSchema = z.strictObject({
  id: z.string(),
  userId: z.string(),
  requestedBy: z.string().meta({ description: 'the name of the admin key that asked' }),
  requestedAt: isoInstant,
  deleted: z.number().int().min(0).meta({ description: 'stored events deleted' }),
  deadLetters: z
    .number()
    .int()
    .min(0)
    .meta({ description: 'dead letters of the user emptied of their bytes (open ones discarded)' }),
});

/** Receipts and erasures (issue 10). */
export function deliveryPaths(h: Helpers): Record<string, unknown> {
  return {
    '/api/logs/{eventId}/status': {
      get: {
        summary: 'What became of an event (its receipt)',
        description:
          'Scope: read, or ingest for the caller\'s own events. Use the statusUrl of the 202: its "at" tells ' +
          '"pending" from "unknown".',
        parameters: [
          { name: 'eventId', in: 'path', required: true, schema: { type: 'string' } },
          ...h.queryParameters(statusQuerySchema),
        ],
        responses: {
          '200': { ...h.json(receiptSchema, 'The receipt.'), headers: h.completeThroughHeader },
          '404': h.error("Not an eventId, or another key's event asked with an ingest-only key."),
          '409': h.error('Several API keys sent an event with this eventId; details name the sources.'),
          ...h.readErrors,
        },
      },
    },
    '/api/users/{userId}/events': {
      delete: {
        summary: "Erase a user's events",
        description:
          'Scope: admin. Deletes every stored event of the user received before now, and the worker never stores ' +
          'one of them afterwards (those still in Kafka included). The erasure is recorded (who, when, how many).',
        parameters: [{ name: 'userId', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': h.json(z.strictObject({ erasure: erasureSchema }), 'The recorded erasure.'),
          '400': h.error('The userId is empty or too long.'),
          '503': h.error('The store is unreachable; the erasure may be recorded already, so ask again.'),
          ...h.common,
        },
      },
    },
    '/api/erasures': {
      get: {
        summary: 'Recorded erasures, newest first',
        description: 'Scope: admin.',
        parameters: h.queryParameters(erasureListSchema),
        responses: {
          '200': h.json(
            z.strictObject({ data: z.array(erasureSchema), nextCursor: z.string().nullable() }),
            'One page of erasures.',
          ),
          ...h.readErrors,
        },
      },
    },
  };
}
