import { z } from 'zod';
import {
  commonEnvFields,
  DEFAULT_MAX_BATCH_BYTES,
  kafkaConfigFromEnv,
  kafkaEnvFields,
  mongoConfigFromEnv,
  mongoEnvFields,
  opsConfigFromEnv,
  opsEnvFields,
  parseConfig,
  requireSaslCredentials,
} from '@activity-logger/shared';

const DEV_CURSOR_SECRET = 'development-only-cursor-secret';

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
    if (env.NODE_ENV === 'production' && env.CURSOR_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['CURSOR_SECRET'], message: 'required when NODE_ENV=production' });
    }
  });

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
  });
}

export type ApiConfig = ReturnType<typeof loadApiConfig>;
