import { z } from 'zod';
import { clientEventSchema, eventIdSchema, sourceSchema } from '@activity-logger/shared';
import { MAX_BATCH_EVENTS } from '../ingest/validation';
import { getOneQuerySchema, listQuerySchema } from '../query/routes';
import { deliveryPaths } from './delivery-paths';
import { viewPaths } from './view-paths';

/**
 * The OpenAPI 3.1 document, generated with zod's own `z.toJSONSchema` from the schemas that
 * validate requests (OpenAPI 3.1 schemas are JSON Schema 2020-12), plus zod schemas of the answers.
 * Checks that JSON Schema cannot express (metadata size and depth, forbidden keys, the time range of
 * ISO timestamps) are in the descriptions; the server enforces them.
 */

const isoInstant = z.iso.datetime({ offset: true });

const storedEventSchema = z.strictObject({
  eventId: eventIdSchema,
  userId: z.string(),
  action: z.string(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  timestamp: isoInstant,
  receivedAt: isoInstant,
  traceId: z.string(),
  source: sourceSchema.optional().meta({ description: 'the name of the API key that sent the event' }),
  storedAt: isoInstant.optional().meta({ description: 'when the worker stored it' }),
});

const completeThroughSchema = isoInstant.nullable().meta({
  description:
    'every event accepted (202) before this instant is stored or dead-lettered, so an empty answer for a time ' +
    'before it means "nothing happened", after it "not yet"; null when unknown',
});

const statusUrlSchema = z.string().meta({
  description: "this event's receipt: /api/logs/<eventId>/status?source=…&at=<partition>:<offset>",
});

const errorSchema = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.array(
      z.strictObject({ path: z.string(), message: z.string(), index: z.number().int().min(0).optional() }),
    ),
  }),
});

const acceptedSchema = z.strictObject({
  status: z.literal('Logged'),
  traceId: z.string(),
  eventId: eventIdSchema,
  message: z.string(),
  statusUrl: statusUrlSchema,
});

const batchAcceptedSchema = z.strictObject({
  status: z.literal('Logged'),
  traceId: z.string(),
  count: z.number().int().min(1).max(MAX_BATCH_EVENTS),
  eventIds: z.array(eventIdSchema),
  statusUrls: z.array(statusUrlSchema).meta({ description: 'the receipts, in the order of eventIds' }),
});

const pageSchema = z.strictObject({
  data: z.array(storedEventSchema),
  nextCursor: z.string().nullable(),
  completeThrough: completeThroughSchema,
});

const completeThroughHeader = {
  'X-Complete-Through': { schema: { type: 'string', format: 'date-time' }, description: 'completeThrough, when known' },
};

const batchRequestSchema = z.strictObject({
  events: z.array(clientEventSchema).min(1).max(MAX_BATCH_EVENTS),
});

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
  });
  return rest;
}

function queryParameters(schema: z.ZodType): JsonSchema[] {
  const object = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema> };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: false,
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { 'application/json': { schema: jsonSchema(schema, 'output') } },
});
const error = (description: string) => json(errorSchema, description);

const rateLimitHeaders = Object.fromEntries(
  ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'].map((name) => [
    name,
    { schema: { type: 'integer' }, description: 'IETF draft-06 rate-limit header' },
  ]),
);

const common = {
  '401': error('No, a malformed, an unknown or a revoked API key (with WWW-Authenticate: Bearer).'),
  '403': error('The API key lacks the scope this route needs.'),
  '429': { ...error('The API key used up its rate limit; see Retry-After.'), headers: rateLimitHeaders },
};

const ingestErrors = {
  ...common,
  '400': error('Invalid event(s), body not JSON or not UTF-8; details name each field (and index).'),
  '413': error('The body is over the size limit.'),
  '415': error('The body is not application/json in UTF-8.'),
  '503': error('Kafka did not acknowledge in time; retry with the same eventId (see Retry-After).'),
};

const readErrors = {
  ...common,
  '400': error('A parameter is invalid, unknown or repeated, or the cursor is not one of this query.'),
  '503': error('The read took longer than QUERY_TIMEOUT_MS, or the store is unreachable (see Retry-After).'),
};

const eventRules =
  'metadata: at most 16 KiB serialized and 10 levels deep; no key that starts with "$", contains "." or NUL. ' +
  'No key named __proto__, constructor or prototype and no lone UTF-16 surrogate anywhere. ' +
  'timestamp: between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in either form.';

export function openApiDocument(): JsonSchema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Activity Logger API',
      version: '1',
      description:
        'Ingest activity events (answered 202 once Kafka holds them) and query what is stored. ' +
        'Every /api route needs an API key: `Authorization: Bearer alk_…` (`npm run keygen` makes one).',
    },
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'alk_… keys (npm run keygen)' } },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/api/logs': {
        post: {
          summary: 'Log one event',
          description: `Scope: ingest. ${eventRules}`,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(clientEventSchema, 'input') } },
          },
          responses: {
            '202': {
              ...json(acceptedSchema, 'Kafka acknowledged the event.'),
              headers: { Location: { schema: { type: 'string' }, description: 'the statusUrl' } },
            },
            ...ingestErrors,
          },
        },
        get: {
          summary: 'Query events',
          description: 'Scope: read. Newest first by (timestamp, source/eventId) unless order=asc; keyset pages.',
          parameters: queryParameters(listQuerySchema),
          responses: {
            '200': { ...json(pageSchema, 'One page of events.'), headers: completeThroughHeader },
            ...readErrors,
          },
        },
      },
      '/api/logs/batch': {
        post: {
          summary: 'Log up to 1000 events (at most 1 MiB), all or nothing',
          description: `Scope: ingest. ${eventRules}`,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(batchRequestSchema, 'input') } },
          },
          responses: { '202': json(batchAcceptedSchema, 'Kafka acknowledged every event.'), ...ingestErrors },
        },
      },
      '/api/logs/{eventId}': {
        get: {
          summary: 'One event by eventId',
          description:
            'Scope: read. Several API keys may use one eventId: without ?source= the answer is 409 when ' +
            'more than one has it.',
          parameters: [
            { name: 'eventId', in: 'path', required: true, schema: { type: 'string' } },
            ...queryParameters(getOneQuerySchema),
          ],
          responses: {
            '200': json(storedEventSchema, 'The event.'),
            '404': error('No such event (for this source).'),
            '409': error('Several API keys sent an event with this eventId; details name the sources.'),
            ...readErrors,
          },
        },
      },
      ...deliveryPaths({ json, error, jsonSchema, queryParameters, readErrors, common, completeThroughHeader }),
      ...viewPaths({ json, error, jsonSchema, queryParameters, common, readErrors }),
    },
  };
}
