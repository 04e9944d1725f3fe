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
  type KafkaConfig,
  type LoggerConfig,
  type MongoConfig,
  type OpsServerConfig,
} from '@activity-logger/shared';

const positiveInt = z.coerce.number().int().min(1);

export const workerEnvSchema = z
  .object({
    ...commonEnvFields,
    ...kafkaEnvFields,
    ...mongoEnvFields,
    ...opsEnvFields(3001),
    KAFKA_GROUP_ID: z.string().min(1).default('activity-logger-worker'),
    /** A dead member's partitions wait this long before the group moves them (kafkajs: 30 s). */
    KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).max(300_000).default(8000),
    KAFKA_HEARTBEAT_INTERVAL_MS: positiveInt.default(1000),
    /** Defaults to `<KAFKA_TOPIC>.dlq`, filled in below once KAFKA_TOPIC is known. */
    KAFKA_DLQ_TOPIC: z.string().min(1).optional(),
    // All of a default topic's partitions at once: kafkajs fetches a round for every partition and
    // starts the next only when the round is written, so with 2 of 6 at a time the round took three
    // serial writes (docs/performance.md: drain 1.47×, 202→stored p99 552 → 148 ms with 6).
    KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY: positiveInt.default(6),
    KAFKA_TOPIC_PARTITIONS: positiveInt.default(6),
    /** Cap of one produce request (dead letters); keep it below the broker's message.max.bytes. */
    KAFKA_MAX_BATCH_BYTES: z.coerce
      .number()
      .int()
      .min(16_384)
      .max(64 * 1024 * 1024)
      .default(DEFAULT_MAX_BATCH_BYTES),
    RETENTION_DAYS: positiveInt.default(90),
    RETENTION_SWEEP_INTERVAL_MS: positiveInt.default(60_000),
    STORE_RETRY_INITIAL_MS: positiveInt.default(200),
    STORE_RETRY_MAX_MS: positiveInt.default(10_000),
    /** A bulk write that has not answered by then is abandoned and retried (a half-open socket). */
    STORE_WRITE_TIMEOUT_MS: positiveInt.default(10_000),
    /** Behind with no commit for this long: /readyz fails (a stall, not a slow batch). */
    WORKER_STALL_READY_MS: positiveInt.default(60_000),
    /** Behind with no commit for this long: /healthz fails too, so the platform restarts the worker. */
    WORKER_STALL_LIVE_MS: positiveInt.default(600_000),
    /**
     * How often the worker asks the cluster how far behind its partitions are; the same look moves
     * the freshness watermark of idle partitions, so it bounds how stale an idle log's watermark is.
     */
    LAG_CHECK_INTERVAL_MS: positiveInt.default(1000),
    STARTUP_TIMEOUT_MS: positiveInt.default(90_000),
    SHUTDOWN_TIMEOUT_MS: positiveInt.default(25_000),
  })
  .superRefine((env, ctx) => {
    requireSaslCredentials(env, ctx);
    if (env.STORE_RETRY_MAX_MS < env.STORE_RETRY_INITIAL_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['STORE_RETRY_MAX_MS'],
        message: 'must be at least STORE_RETRY_INITIAL_MS',
      });
    }
    if (env.KAFKA_HEARTBEAT_INTERVAL_MS * 3 > env.KAFKA_SESSION_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_HEARTBEAT_INTERVAL_MS'],
        message: 'must be at most a third of KAFKA_SESSION_TIMEOUT_MS',
      });
    }
    if (env.WORKER_STALL_LIVE_MS < env.WORKER_STALL_READY_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['WORKER_STALL_LIVE_MS'],
        message: 'must be at least WORKER_STALL_READY_MS',
      });
    }
    // A batch in flight is given its write's time limit, plus its grace and the other stop steps.
    if (env.STORE_WRITE_TIMEOUT_MS + 10_000 > env.SHUTDOWN_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['STORE_WRITE_TIMEOUT_MS'],
        message: 'must be at least 10000 below SHUTDOWN_TIMEOUT_MS, so a hung write cannot hold up a shutdown',
      });
    }
    // One slow write followed by the longest backoff is not a stall; neither is the lag check's own delay.
    const slowestStep = env.STORE_WRITE_TIMEOUT_MS + env.STORE_RETRY_MAX_MS + env.LAG_CHECK_INTERVAL_MS;
    if (env.WORKER_STALL_READY_MS < slowestStep) {
      ctx.addIssue({
        code: 'custom',
        path: ['WORKER_STALL_READY_MS'],
        message: `must be at least STORE_WRITE_TIMEOUT_MS + STORE_RETRY_MAX_MS + LAG_CHECK_INTERVAL_MS (${slowestStep})`,
      });
    }
    if (env.KAFKA_DLQ_TOPIC !== undefined && env.KAFKA_DLQ_TOPIC === env.KAFKA_TOPIC) {
      ctx.addIssue({ code: 'custom', path: ['KAFKA_DLQ_TOPIC'], message: 'must differ from KAFKA_TOPIC' });
    }
  });

export interface RetryPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** What the consumer needs: where to read, as which group, and how to wait out a store outage. */
export interface ConsumerConfig {
  readonly topic: string;
  readonly groupId: string;
  readonly partitionsConsumedConcurrently: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly retry: RetryPolicy;
}

export interface StoreConfig {
  readonly writeTimeoutMs: number;
}

/** When the worker counts as stalled (see progress.ts) and how often it looks at lag. */
export interface HealthConfig {
  readonly stallReadyMs: number;
  readonly stallLiveMs: number;
  readonly lagCheckIntervalMs: number;
}

export interface DeadLetterConfig {
  readonly topic: string;
  /** Cap of one DLQ produce request; below the broker's message.max.bytes. */
  readonly maxBatchBytes: number;
}

export interface TopicsConfig {
  readonly topic: string;
  readonly dlqTopic: string;
  /** Only used when the worker creates a missing topic; existing topics keep their partitions. */
  readonly partitions: number;
}

export interface RetentionConfig {
  readonly days: number;
  readonly sweepIntervalMs: number;
}

export interface WorkerConfig {
  readonly logger: LoggerConfig;
  readonly kafka: KafkaConfig;
  readonly mongo: MongoConfig;
  readonly topics: TopicsConfig;
  readonly consumer: ConsumerConfig;
  readonly deadLetters: DeadLetterConfig;
  readonly retention: RetentionConfig;
  readonly store: StoreConfig;
  readonly health: HealthConfig;
  readonly ops: OpsServerConfig;
  readonly startupTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
}

/** Parses the worker's environment once; throws a ConfigError naming every bad variable. */
export function loadWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  const parsed = parseConfig(workerEnvSchema, env);
  const dlqTopic = parsed.KAFKA_DLQ_TOPIC ?? `${parsed.KAFKA_TOPIC}.dlq`;
  return deepFreeze({
    logger: { level: parsed.LOG_LEVEL, service: 'worker' },
    kafka: kafkaConfigFromEnv(parsed),
    mongo: mongoConfigFromEnv(parsed),
    topics: { topic: parsed.KAFKA_TOPIC, dlqTopic, partitions: parsed.KAFKA_TOPIC_PARTITIONS },
    consumer: {
      topic: parsed.KAFKA_TOPIC,
      groupId: parsed.KAFKA_GROUP_ID,
      partitionsConsumedConcurrently: parsed.KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY,
      sessionTimeoutMs: parsed.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: parsed.KAFKA_HEARTBEAT_INTERVAL_MS,
      retry: { initialMs: parsed.STORE_RETRY_INITIAL_MS, maxMs: parsed.STORE_RETRY_MAX_MS },
    },
    deadLetters: { topic: dlqTopic, maxBatchBytes: parsed.KAFKA_MAX_BATCH_BYTES },
    retention: { days: parsed.RETENTION_DAYS, sweepIntervalMs: parsed.RETENTION_SWEEP_INTERVAL_MS },
    store: { writeTimeoutMs: parsed.STORE_WRITE_TIMEOUT_MS },
    health: {
      stallReadyMs: parsed.WORKER_STALL_READY_MS,
      stallLiveMs: parsed.WORKER_STALL_LIVE_MS,
      lagCheckIntervalMs: parsed.LAG_CHECK_INTERVAL_MS,
    },
    ops: opsConfigFromEnv(parsed),
    startupTimeoutMs: parsed.STARTUP_TIMEOUT_MS,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
