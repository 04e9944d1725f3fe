import { z } from 'zod';
import { bulkReplaySchema, discardSchema, letterListQuerySchema } from '../dead-letters/routes';
import { replayBodySchema } from '../dead-letters/replay-event';
import { CSV_COLUMNS, exportQuerySchema } from '../query/export';
import { streamQuerySchema } from '../query/stream';

type JsonSchema = Record<string, unknown>;

/** document.ts's helpers, passed in so this file adds paths without importing it back. */
export interface DocumentHelpers {
  json(schema: z.ZodType, description: string): JsonSchema;
  error(description: string): JsonSchema;
  jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema;
  queryParameters(schema: z.ZodType): JsonSchema[];
  readonly common: Record<string, JsonSchema>;
  readonly readErrors: Record<string, JsonSchema>;
}

const isoInstant = z.iso.datetime({ offset: true });

const letterSummarySchema = z.strictObject({
  id: z.string().meta({ description: '<topic>:<partition>:<offset> of the original record' }),
  topic: z.string(),
  partition: z.number().int().min(0),
  offset: z.number().int().min(0),
  reason: z.string().meta({ description: 'unparseable, schema_invalid or store_rejected' }),
  detail: z.string(),
  failedAt: isoInstant,
  state: z.enum(['open', 'replayed', 'discarded']),
  // As far as the worker could read them from a record that failed: not checked as strictly as ingest.
  eventId: z.string().optional(),
  source: z.string().optional(),
  userId: z.string().optional(),
  traceId: z.string().optional(),
  receivedAt: isoInstant.optional(),
  resolution: z.strictObject({ by: z.string(), at: isoInstant, reason: z.string().optional() }).optional(),
});

const letterDetailSchema = letterSummarySchema.extend({
  key: z.string().nullable().meta({ description: 'the original key, base64' }),
  keyText: z.string().optional().meta({ description: 'the key as text, when it is UTF-8' }),
  value: z.string().nullable().meta({ description: 'the original value byte for byte, base64' }),
  valueText: z.string().optional().meta({ description: 'the value as text, when it is UTF-8' }),
  headers: z.record(z.string(), z.string()),
});

const replayedSchema = letterSummarySchema.extend({
  statusUrl: z.string().optional().meta({ description: 'where to ask what became of the replayed event' }),
});

const bulkResultSchema = z.strictObject({
  results: z.array(
    z.strictObject({
      id: z.string(),
      status: z.number().int().meta({ description: 'what a single replay of this id would have answered' }),
      letter: replayedSchema.optional(),
      error: z
        .strictObject({
          code: z.string(),
          message: z.string(),
          details: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
        })
        .optional(),
    }),
  ),
});

const letterPageSchema = z.strictObject({ data: z.array(letterSummarySchema), nextCursor: z.string().nullable() });

const idParameter = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: 'the letter id, <topic>:<partition>:<offset>',
};

export function viewPaths(h: DocumentHelpers): Record<string, JsonSchema> {
  const body = (schema: z.ZodType, required: boolean) => ({
    required,
    content: { 'application/json': { schema: h.jsonSchema(schema, 'input') } },
  });
  const adminErrors = {
    ...h.readErrors,
    '403': h.error('The API key lacks the admin scope.'),
    '503': h.error('The store (or, for a replay, Kafka) cannot be reached right now; see Retry-After.'),
  };
  const bodyErrors = {
    '413': h.error('The body is over 64 KiB.'),
    '415': h.error('The body is not application/json in UTF-8.'),
  };
  const streamErrors = {
    ...h.readErrors,
    '429': h.error('The API key used up its rate limit, or holds as many open streams and exports as it may.'),
    '503': h.error('The store is unreachable, or this replica serves as many streams as it can (see Retry-After).'),
  };
  return {
    '/api/dead-letters': {
      get: {
        summary: 'List dead letters',
        description: 'Scope: admin. Newest first by (failedAt, id); keyset pages.',
        parameters: h.queryParameters(letterListQuerySchema),
        responses: { '200': h.json(letterPageSchema, 'One page of letters.'), ...adminErrors },
      },
    },
    '/api/dead-letters/replay': {
      post: {
        summary: 'Replay up to 100 dead letters as they were',
        description:
          'Scope: admin. One result per id, in order, each with the status a single replay would have ' +
          'answered; once Kafka fails, the remaining ids are answered 503 without being tried.',
        requestBody: body(bulkReplaySchema, true),
        responses: {
          '200': h.json(bulkResultSchema, 'What became of each id.'),
          ...adminErrors,
          ...bodyErrors,
        },
      },
    },
    '/api/dead-letters/{id}': {
      get: {
        summary: 'One dead letter, with its original bytes',
        description: 'Scope: admin.',
        parameters: [idParameter],
        responses: {
          '200': h.json(letterDetailSchema, 'The letter.'),
          '404': h.error('No such letter.'),
          ...adminErrors,
        },
      },
    },
    '/api/dead-letters/{id}/replay': {
      post: {
        summary: 'Replay a dead letter, as it was or corrected',
        description:
          'Scope: admin. Without a body the original value must be a valid event; with `event` the corrected ' +
          'event is validated as POST /api/logs validates it. Produced under the letter’s eventId and source with ' +
          'its original receivedAt and traceId. Idempotent: a replayed letter answers the same again without ' +
          'producing; concurrent replays produce once.',
        parameters: [idParameter],
        requestBody: body(replayBodySchema, false),
        responses: {
          '202': h.json(replayedSchema, 'Kafka acknowledged the event (or it had been replayed before).'),
          '404': h.error('No such letter.'),
          '409': h.error('The letter was discarded, or another replay of it is running (Retry-After).'),
          '422': h.error('The original is not a valid event (or names no source): send a corrected body.'),
          ...adminErrors,
          ...bodyErrors,
        },
      },
    },
    '/api/dead-letters/{id}/discard': {
      post: {
        summary: 'Discard a dead letter, with a reason',
        description: 'Scope: admin. Idempotent: a discarded letter answers the same again (the first reason stands).',
        parameters: [idParameter],
        requestBody: body(discardSchema, true),
        responses: {
          '200': h.json(letterSummarySchema, 'The letter, discarded.'),
          '404': h.error('No such letter.'),
          '409': h.error('The letter was replayed, or a replay of it is running.'),
          ...adminErrors,
          ...bodyErrors,
        },
      },
    },
    '/api/logs/stream': {
      get: {
        summary: 'Live tail (Server-Sent Events)',
        description:
          'Scope: read. `event: log` with `id: <position>` and the event as GET returns it; `event: watermark` ' +
          'with `{completeThrough}`; a `:` heartbeat every 15 s. Only committed events (offset < the worker’s ' +
          'committed offset), per partition in offset order. Starts now (or at the beginning with `from`); ' +
          'resumes after `Last-Event-ID` or `lastEventId`. Events stored before partition/offset were recorded ' +
          'are not in it.',
        parameters: [
          ...h.queryParameters(streamQuerySchema),
          { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } },
        ],
        responses: {
          '200': {
            description: 'The stream.',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...streamErrors,
        },
      },
    },
    '/api/logs/export': {
      get: {
        summary: 'Export everything a query matches',
        description:
          'Scope: read. No page limit, oldest first by default, streamed with backpressure. CSV: a header row ' +
          `(${CSV_COLUMNS.join(', ')}), metadata as a JSON cell, cells starting with = + - @ prefixed with '. ` +
          'A failure after the first byte cuts the connection (never a clean end).',
        parameters: h.queryParameters(exportQuerySchema),
        responses: {
          '200': {
            description: 'Every matching event.',
            content: {
              'application/x-ndjson': { schema: { type: 'string' } },
              'text/csv': { schema: { type: 'string' } },
            },
          },
          ...streamErrors,
        },
      },
    },
  };
}
