import 'dotenv/config';
import { ConfigError, createKafka, createLogger, ensureTopics } from '@activity-logger/shared';
import { loadWorkerConfig } from './config';

/**
 * A one-shot deploy step (the Kubernetes Job `activity-logger-topics`): creates the topic and its
 * dead-letter topic if they are missing, then exits 0. Idempotent, so it can run on every deploy;
 * a failure exits 1 and the Job retries with backoff while the brokers come up.
 */
async function main(): Promise<void> {
  const config = loadWorkerConfig(process.env);
  const logger = createLogger({ level: config.logger.level, service: 'create-topics' });
  const admin = createKafka(config.kafka, logger).admin();
  const topics = [config.topics.topic, config.topics.dlqTopic];
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      topics.map((topic) => ({ topic, numPartitions: config.topics.partitions })),
    );
    logger.info({ topics, partitions: config.topics.partitions }, 'topics present');
  } finally {
    await admin.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const detail =
      error instanceof ConfigError
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
    process.stderr.write(`create-topics: ${detail}\n`);
    process.exit(1);
  },
);
