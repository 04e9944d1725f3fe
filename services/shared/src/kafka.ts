import {
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type ITopicConfig,
  type LogEntry,
  type ProducerConfig,
  type RetryOptions,
  type SASLOptions,
} from 'kafkajs';
import type { Logger } from './logger';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean;
  readonly sasl?: {
    readonly mechanism: SaslMechanism;
    readonly username: string;
    readonly password: string;
  };
}

/** The Kafka slice of a parsed service config (see `kafkaEnvFields`). */
export function kafkaConfigFromEnv(env: {
  KAFKA_BROKERS: string[];
  KAFKA_CLIENT_ID: string;
  KAFKA_SSL: boolean;
  KAFKA_SASL_MECHANISM?: SaslMechanism | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
}): KafkaConfig {
  const base = { brokers: env.KAFKA_BROKERS, clientId: env.KAFKA_CLIENT_ID, ssl: env.KAFKA_SSL };
  if (env.KAFKA_SASL_MECHANISM === undefined) return base;
  return {
    ...base,
    sasl: {
      mechanism: env.KAFKA_SASL_MECHANISM,
      username: env.KAFKA_SASL_USERNAME ?? '',
      password: env.KAFKA_SASL_PASSWORD ?? '',
    },
  };
}

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** Timeouts and retries, for callers that must answer within a bound (the API's 503 contract). */
export interface KafkaTuning {
  readonly connectionTimeout?: number;
  readonly requestTimeout?: number;
  readonly retry?: RetryOptions;
}

/** A kafkajs client whose own log lines go through pino, as JSON like the rest. */
export function createKafka(config: KafkaConfig, logger: Logger, tuning: KafkaTuning = {}): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    ...tuning,
    clientId: config.clientId,
    brokers: [...config.brokers],
    ssl: config.ssl,
    ...(config.sasl === undefined ? {} : { sasl: { ...config.sasl } as SASLOptions }),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _name, ...rest } = log;
        kafkaLogger[levels[level] ?? 'info'](rest, message);
      },
  });
}

/**
 * Creates the topics that do not exist yet, then waits until every partition of every topic has a
 * leader, so a producer or consumer that starts right after never meets "This server does not
 * host this topic-partition". Safe when several replicas of both services start at once: a topic
 * another process created in between counts as created (kafkajs then answers false and does not
 * wait for leaders itself, hence the explicit wait). Existing topics are left as they are (their
 * partition count is an operator's decision).
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly ITopicConfig[],
  options: { leaderTimeoutMs?: number } = {},
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic.topic));
  if (missing.length > 0) await admin.createTopics({ topics: [...missing], waitForLeaders: true });
  await waitForLeaders(
    admin,
    topics.map((topic) => topic.topic),
    options.leaderTimeoutMs ?? 30_000,
  );
}

async function waitForLeaders(admin: Admin, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
    const leaderless = metadata.flatMap((topic) =>
      topic.partitions
        .filter((partition) => partition.leader < 0 || partition.partitionErrorCode !== 0)
        .map((partition) => `${topic.name}[${partition.partitionId}]`),
    );
    if (leaderless.length === 0 && metadata.length === topics.length) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `partitions without a leader after ${timeoutMs} ms: ${leaderless.join(', ') || topics.join(', ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Producer settings both services use: the Java client's murmur2 partitioner (so any client puts a
 * userId on the same partition) and no topic auto-creation (a typo must fail, not create a topic).
 */
export const PRODUCER_DEFAULTS: ProducerConfig = {
  createPartitioner: Partitioners.DefaultPartitioner,
  allowAutoTopicCreation: false,
};

/**
 * A readiness probe that asks the cluster rather than trusting a flag: kafkajs emits no
 * disconnect event when a broker goes away, only when we disconnect. Concurrent calls share one
 * request, so a hanging cluster does not pile up probes; callers bound the wait.
 */
export function kafkaReadiness(admin: Admin): () => Promise<boolean> {
  let inFlight: Promise<boolean> | undefined;
  return () =>
    (inFlight ??= (async () => {
      try {
        await admin.connect();
        const { brokers } = await admin.describeCluster();
        return brokers.length > 0;
      } finally {
        inFlight = undefined;
      }
    })());
}
