import { z } from 'zod';
import {
  commonEnvFields,
  DEFAULT_MAX_BATCH_BYTES,
  envBoolean,
  kafkaConfigFromEnv,
  kafkaEnvFields,
  mongoConfigFromEnv,
  mongoEnvFields,
  opsConfigFromEnv,
  opsEnvFields,
  parseConfig,
  requireSaslCredentials,
} from '@activity-logger/shared';
import { parseKeyLines } from './auth/api-keys';

/** Only ever used with NODE_ENV=development: every other mode must set CURSOR_SECRET. */
const DEV_CURSOR_SECRET = 'development-only-cursor-secret';

const positiveInt = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const apiEnvSchema = z
  .object({
    ...commonEnvFields,
    ...kafkaEnvFields,
    ...mongoEnvFields,
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    ...opsEnvFields(3002),
    /** After SIGTERM, how long /readyz fails while the API still serves, so load balancers move on. */
    SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).default(5000),
    /** The whole shutdown's bound; past it the process exits 1. */
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(25_000),
    /** Kafka and the store are retried this long at start before the API gives up (exit 1). */
    STARTUP_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(90_000),
    /** Partitions for the topic when the API has to create it (it never changes an existing one). */
    KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
    /** How long a request may wait for Kafka's acknowledgement before it is answered 503. */
    PRODUCE_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
    /** How long the first event of a produce request waits for others to share it. */
    PRODUCE_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(5),
    /** Caps of one produce request; below the broker's message.max.bytes (1 MB by default). */
    PRODUCE_MAX_BATCH_BYTES: z.coerce
      .number()
      .int()
      .min(16_384)
      .max(64 * 1024 * 1024)
      .default(DEFAULT_MAX_BATCH_BYTES),
    PRODUCE_MAX_BATCH_EVENTS: z.coerce.number().int().min(1).max(100_000).default(2000),
    /** Signs pagination cursors; every replica behind one load balancer needs the same value. */
    CURSOR_SECRET: z.string().min(16).optional(),
    /** API keys as `name:scopes:sha256hex`, comma-separated (see auth/api-keys.ts). */
    API_KEYS: z.string().optional(),
    /** A file of such lines, one per line (the mounted Kubernetes Secret); read at start. */
    API_KEYS_FILE: z.string().min(1).optional(),
    /** Only with NODE_ENV=development: no key needed, and events carry no source. */
    AUTH_DISABLED: envBoolean.default(false),
    /** Per API key and per replica, in fixed windows of RATE_LIMIT_WINDOW_SECONDS. */
    RATE_LIMIT_WINDOW_SECONDS: positiveInt(1, 3600, 10),
    RATE_LIMIT_INGEST_EVENTS: positiveInt(1, 100_000_000, 10_000),
    RATE_LIMIT_READ_REQUESTS: positiveInt(1, 100_000_000, 100),
    /** Server-side limit (maxTimeMS) of every store read; the client gives up a second later. */
    QUERY_TIMEOUT_MS: positiveInt(100, 60_000, 3000),
    /** HTTP server limits (see http/server-limits.ts). */
    HTTP_REQUEST_TIMEOUT_MS: positiveInt(1000, 600_000, 30_000),
    HTTP_HEADERS_TIMEOUT_MS: positiveInt(1000, 600_000, 10_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: positiveInt(1000, 600_000, 65_000),
    HTTP_MAX_CONNECTIONS: positiveInt(1, 1_000_000, 1000),
    HTTP_MAX_HEADERS_COUNT: positiveInt(10, 2000, 100),
    /** Live tails open at once, per API key and per replica (see tail/open-streams.ts). */
    STREAM_MAX_PER_KEY: positiveInt(1, 10_000, 5),
    STREAM_MAX_TOTAL: positiveInt(1, 100_000, 200),
    /** How often a live tail looks for newly committed events. */
    STREAM_POLL_MS: positiveInt(50, 60_000, 1000),
    /** A `:` comment on every live tail this often, so proxies keep the connection. */
    STREAM_HEARTBEAT_MS: positiveInt(1000, 300_000, 15_000),
    /**
     * Exports open at once, per API key and per replica: far fewer than tails, because each one
     * has the store scan and sort what it matches, and a store may go on doing so after the client
     * has left (FerretDB does), so an export's slot is held until the store has answered.
     */
    EXPORT_MAX_PER_KEY: positiveInt(1, 1000, 2),
    EXPORT_MAX_TOTAL: positiveInt(1, 10_000, 4),
    /** The store's time for one whole export (a cursor's maxTimeMS counts across its batches). */
    EXPORT_TIMEOUT_MS: positiveInt(1000, 86_400_000, 600_000),
    /** One export batch's bound, should the store or the network hang. */
    EXPORT_BATCH_TIMEOUT_MS: positiveInt(1000, 600_000, 30_000),
  })
  .superRefine(requireSaslCredentials)
  .superRefine((env, ctx) => {
    const drainMs = env.SHUTDOWN_DELAY_MS + env.PRODUCE_TIMEOUT_MS + 2000;
    if (env.SHUTDOWN_TIMEOUT_MS < drainMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['SHUTDOWN_TIMEOUT_MS'],
        message: `must cover SHUTDOWN_DELAY_MS + PRODUCE_TIMEOUT_MS + 2000 (${drainMs} ms)`,
      });
    }
    if (env.OPS_PORT !== 0 && env.OPS_PORT === env.PORT) {
      ctx.addIssue({
        code: 'custom',
        path: ['OPS_PORT'],
        message: 'must differ from PORT: ops endpoints are never public',
      });
    }
    const local = env.NODE_ENV === 'development';
    if (!local && env.CURSOR_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['CURSOR_SECRET'], message: 'required unless NODE_ENV=development' });
    }
    if (env.AUTH_DISABLED && !local) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_DISABLED'], message: 'may be true only with NODE_ENV=development' });
    }
    const problems = parseKeyLines(splitKeys(env.API_KEYS)).problems;
    for (const problem of problems) ctx.addIssue({ code: 'custom', path: ['API_KEYS'], message: problem });
    if (!env.AUTH_DISABLED && env.API_KEYS === undefined && env.API_KEYS_FILE === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['API_KEYS'],
        message:
          'no API key configured: set API_KEYS or API_KEYS_FILE (npm run keygen makes one), ' +
          'or AUTH_DISABLED=true with NODE_ENV=development',
      });
    }
    if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HTTP_HEADERS_TIMEOUT_MS'],
        message: 'must not be longer than HTTP_REQUEST_TIMEOUT_MS',
      });
    }
  });

function splitKeys(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(',');
}

export function loadApiConfig(env: Record<string, string | undefined>) {
  const parsed = parseConfig(apiEnvSchema, env);
  return Object.freeze({
    env: parsed.NODE_ENV,
    logLevel: parsed.LOG_LEVEL,
    http: { port: parsed.PORT, host: parsed.HOST },
    ops: opsConfigFromEnv(parsed),
    shutdown: { delayMs: parsed.SHUTDOWN_DELAY_MS, timeoutMs: parsed.SHUTDOWN_TIMEOUT_MS },
    startupTimeoutMs: parsed.STARTUP_TIMEOUT_MS,
    kafka: kafkaConfigFromEnv(parsed),
    topic: { name: parsed.KAFKA_TOPIC, partitions: parsed.KAFKA_TOPIC_PARTITIONS },
    mongo: mongoConfigFromEnv(parsed),
    produce: {
      timeoutMs: parsed.PRODUCE_TIMEOUT_MS,
      lingerMs: parsed.PRODUCE_LINGER_MS,
      maxBatchBytes: parsed.PRODUCE_MAX_BATCH_BYTES,
      maxBatchEvents: parsed.PRODUCE_MAX_BATCH_EVENTS,
    },
    cursorSecret: parsed.CURSOR_SECRET ?? DEV_CURSOR_SECRET,
    auth: {
      disabled: parsed.AUTH_DISABLED,
      inlineKeys: parseKeyLines(splitKeys(parsed.API_KEYS)).keys,
      keysFile: parsed.API_KEYS_FILE,
    },
    rateLimits: {
      windowSeconds: parsed.RATE_LIMIT_WINDOW_SECONDS,
      ingestEvents: parsed.RATE_LIMIT_INGEST_EVENTS,
      readRequests: parsed.RATE_LIMIT_READ_REQUESTS,
    },
    query: { timeoutMs: parsed.QUERY_TIMEOUT_MS },
    streams: {
      limits: { perKey: parsed.STREAM_MAX_PER_KEY, total: parsed.STREAM_MAX_TOTAL },
      exportLimits: { perKey: parsed.EXPORT_MAX_PER_KEY, total: parsed.EXPORT_MAX_TOTAL },
      tail: { pollMs: parsed.STREAM_POLL_MS, heartbeatMs: parsed.STREAM_HEARTBEAT_MS, batch: 500 },
      // 250 events a batch: a client that stops reading holds at most one batch (a few MiB).
      export: { batchSize: 250, timeoutMs: parsed.EXPORT_TIMEOUT_MS, batchTimeoutMs: parsed.EXPORT_BATCH_TIMEOUT_MS },
    },
    httpLimits: {
      requestTimeoutMs: parsed.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: parsed.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: parsed.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: parsed.HTTP_MAX_CONNECTIONS,
      maxHeadersCount: parsed.HTTP_MAX_HEADERS_COUNT,
    },
  });
}

export type ApiConfig = ReturnType<typeof loadApiConfig>;
