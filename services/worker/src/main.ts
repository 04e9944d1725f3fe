import 'dotenv/config';
import { ConnectionStates, type Connection } from 'mongoose';
import {
  ConfigError,
  connectMongo,
  createKafka,
  createLogger,
  ensureQueryIndexes,
  ensureTopics,
  kafkaReadiness,
  logModel,
  type Logger,
} from '@activity-logger/shared';
import { loadWorkerConfig, type WorkerConfig } from './config';
import { createLogConsumer, type LogConsumer } from './consumer';
import { createKafkaDeadLetterPublisher, type KafkaDeadLetterPublisher } from './dead-letters';
import { createMongoEventWriter } from './event-writer';
import { createWorkerMetrics } from './metrics';
import { createOpsServer, type OpsServer } from './ops-server';
import { persistBatch } from './persist-batch';
import { createRetention, type Retention } from './retention';

/**
 * The worker's composition root: the only place that reads the environment, connects, owns the
 * signals and decides the exit code. Components are started in dependency order and stopped in
 * the reverse one, taking work in last and giving it up first.
 */
function readConfig(): WorkerConfig {
  try {
    return loadWorkerConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`worker: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

function main(): void {
  const config = readConfig();
  const logger = createLogger(config.logger);
  const metrics = createWorkerMetrics();
  const kafka = createKafka(config.kafka, logger);
  // Creates the topics at start, then stays connected for /readyz to ask the cluster.
  const admin = kafka.admin();

  let connection: Connection | undefined;
  let retention: Retention | undefined;
  let deadLetters: KafkaDeadLetterPublisher | undefined;
  let consumer: LogConsumer | undefined;
  let opsServer: OpsServer | undefined;
  let stopping: Promise<void> | undefined;
  let exiting = false;

  /** Idempotent: stops whatever has been started so far, each part even when another one failed. */
  function stop(): Promise<void> {
    stopping ??= (async () => {
      await attempt('consumer', logger, () => consumer?.stop());
      await attempt('dead letter producer', logger, () => deadLetters?.disconnect());
      await attempt('kafka admin', logger, () => admin.disconnect());
      await attempt('retention', logger, () => retention?.stop());
      await attempt('mongodb', logger, () => connection?.close());
      await attempt('ops server', logger, () => opsServer?.close());
    })();
    return stopping;
  }

  function exit(code: 0 | 1, reason: string, error?: unknown): void {
    if (exiting) return;
    exiting = true;
    if (error === undefined) logger.info({ reason }, 'worker stopping');
    else logger.fatal({ reason, err: error }, 'worker stopping after a fatal error');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown deadline passed; exiting anyway');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    stop().then(
      () => {
        clearTimeout(deadline);
        logger.info({ reason, exitCode: code }, 'worker stopped');
        process.exit(code);
      },
      (stopError: unknown) => {
        logger.error({ err: stopError }, 'worker did not stop cleanly');
        process.exit(1);
      },
    );
  }

  async function start(): Promise<void> {
    // Listening first lets the platform see a live process (/healthz) that is not ready yet (/readyz).
    opsServer = createOpsServer({
      config: config.ops,
      readiness: {
        consumer: () => consumer?.isReady() ?? false,
        mongodb: () => pingMongo(connection),
        kafka: kafkaReadiness(admin),
      },
      registry: metrics.registry,
      logger,
    });
    const port = await opsServer.listen();

    connection = await connectMongo(config.mongo);
    const model = logModel(connection);
    await ensureQueryIndexes(model);
    retention = createRetention({ model, config: config.retention, logger, metrics });
    const retentionMode = await retention.start();

    await admin.connect();
    await ensureTopics(admin, [
      { topic: config.topics.topic, numPartitions: config.topics.partitions },
      { topic: config.topics.dlqTopic, numPartitions: config.topics.partitions },
    ]);

    const publisher = createKafkaDeadLetterPublisher({ kafka, config: config.deadLetters });
    deadLetters = publisher;
    await publisher.connect();
    if (exiting) return;

    const writer = createMongoEventWriter(model);
    consumer = createLogConsumer({
      kafka,
      config: config.consumer,
      persist: (messages) => persistBatch(messages, { writer, deadLetters: publisher, logger, metrics }),
      logger,
      metrics,
      onFatal: (error) => exit(1, 'the consumer crashed and will not restart', error),
    });
    await consumer.start();
    logger.info(
      {
        port,
        topic: config.consumer.topic,
        dlqTopic: config.deadLetters.topic,
        groupId: config.consumer.groupId,
        retentionMode,
      },
      'worker started',
    );
  }

  process.on('SIGTERM', () => exit(0, 'SIGTERM'));
  process.on('SIGINT', () => exit(0, 'SIGINT'));
  process.on('uncaughtException', (error) => exit(1, 'uncaught exception', error));
  process.on('unhandledRejection', (error) => exit(1, 'unhandled rejection', error));

  start().catch((error: unknown) => exit(1, 'startup failed', error));
}

async function pingMongo(current: Connection | undefined): Promise<boolean> {
  if (current?.db === undefined || current.readyState !== ConnectionStates.connected) return false;
  await current.db.admin().ping();
  return true;
}

async function attempt(what: string, log: Logger, action: () => Promise<unknown> | undefined): Promise<void> {
  try {
    await action();
  } catch (error) {
    log.warn({ err: error, component: what }, 'could not stop cleanly');
  }
}

main();
