import { z } from 'zod';
import {
  commonEnvFields,
  kafkaConfigFromEnv,
  kafkaEnvFields,
  mongoConfigFromEnv,
  mongoEnvFields,
  parseConfig,
  requireSaslCredentials,
  type KafkaConfig,
  type LoggerConfig,
  type MongoConfig,
} from '@activity-logger/shared';

const positiveInt = z.coerce.number().int().min(1);

export const workerEnvSchema = z
  .object({
    ...commonEnvFields,
    ...kafkaEnvFields,
    ...mongoEnvFields,
    WORKER_PORT: z.coerce.number().int().min(0).max(65_535).default(3001),
    WORKER_HOST: z.string().min(1).default('0.0.0.0'),
    KAFKA_GROUP_ID: z.string().min(1).default('activity-logger-worker'),
    /** Defaults to `<KAFKA_TOPIC>.dlq`, filled in below once KAFKA_TOPIC is known. */
    KAFKA_DLQ_TOPIC: z.string().min(1).optional(),
    KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY: positiveInt.default(2),
    KAFKA_TOPIC_PARTITIONS: positiveInt.default(6),
    RETENTION_DAYS: positiveInt.default(90),
    RETENTION_SWEEP_INTERVAL_MS: positiveInt.default(60_000),
    STORE_RETRY_INITIAL_MS: positiveInt.default(200),
    STORE_RETRY_MAX_MS: positiveInt.default(10_000),
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
  readonly retry: RetryPolicy;
}

export interface DeadLetterConfig {
  readonly topic: string;
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

export interface OpsServerConfig {
  readonly port: number;
  readonly host: string;
}

export interface WorkerConfig {
  readonly logger: LoggerConfig;
  readonly kafka: KafkaConfig;
  readonly mongo: MongoConfig;
  readonly topics: TopicsConfig;
  readonly consumer: ConsumerConfig;
  readonly deadLetters: DeadLetterConfig;
  readonly retention: RetentionConfig;
  readonly ops: OpsServerConfig;
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
      retry: { initialMs: parsed.STORE_RETRY_INITIAL_MS, maxMs: parsed.STORE_RETRY_MAX_MS },
    },
    deadLetters: { topic: dlqTopic },
    retention: { days: parsed.RETENTION_DAYS, sweepIntervalMs: parsed.RETENTION_SWEEP_INTERVAL_MS },
    ops: { port: parsed.WORKER_PORT, host: parsed.WORKER_HOST },
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
