import 'dotenv/config';
import { ConnectionStates, type Connection } from 'mongoose';
import {
  connectMongo,
  createKafka,
  createLogger,
  createOpsServer,
  DEAD_LETTER_INDEXES,
  deadLetterModel,
  ensureQueryIndexes,
  ERASURE_INDEXES,
  erasureModel,
  ensureTopics,
  kafkaReadiness,
  loadConfigOrExit,
  logModel,
  partitionProgressModel,
  retryStartupStep,
  runProcess,
  stopInOrder,
  type OpsServer,
} from '@activity-logger/shared';
import { loadWorkerConfig } from './config';
import { createLogConsumer, type LogConsumer } from './consumer';
import { createMongoDeadLetterStore } from './dead-letter-store';
import { createKafkaDeadLetterPublisher, type KafkaDeadLetterPublisher } from './dead-letters';
import { ensureIndexes } from './delivery-indexes';
import { createMongoErasureGuard } from './erasure-guard';
import { createMongoEventWriter } from './event-writer';
import { createLagMonitor, type LagMonitor } from './lag-monitor';
import { createWorkerMetrics } from './metrics';
import { createProgressRecorder, mongoProgressWrite, type ProgressRecorder } from './partition-progress';
import { persistBatch } from './persist-batch';
import { createProgressTracker } from './progress';
import { createRetention, type Retention } from './retention';

/**
 * The worker's composition root: the only place that reads the environment, connects, owns the
 * signals and decides the exit code. Components are started in dependency order and stopped in
 * the reverse one, taking work in last and giving it up first.
 */
function main(): void {
  const config = loadConfigOrExit('worker', () => loadWorkerConfig(process.env));
  const logger = createLogger(config.logger);
  const progress = createProgressTracker();
  const metrics = createWorkerMetrics({ progress });
  const kafka = createKafka(config.kafka, logger);
  // Creates the topics at start, then stays connected for /readyz and the lag monitor.
  const admin = kafka.admin();

  let connection: Connection | undefined;
  let retention: Retention | undefined;
  let deadLetters: KafkaDeadLetterPublisher | undefined;
  let consumer: LogConsumer | undefined;
  let lagMonitor: LagMonitor | undefined;
  let watermark: ProgressRecorder | undefined;
  let opsServer: OpsServer | undefined;
  let stopping = false;

  const stalled = (limitMs: number) => () => {
    const longestMs = progress.longestWaitMs();
    return { ok: longestMs < limitMs, detail: { longestStallSeconds: Math.round(longestMs / 1000) } };
  };

  runProcess({
    name: 'worker',
    logger,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    stop: () => {
      stopping = true;
      return stopInOrder(logger, [
        // Leaves the group (its partitions move at once) after the batch in flight ends or is abandoned.
        // A batch in flight ends within its write's time limit, or is abandoned.
        ['consumer', () => consumer?.stop(), config.store.writeTimeoutMs + 3000],
        ['lag monitor', () => lagMonitor?.stop()],
        // The last progress writes are each bounded; a lost one only leaves the watermark older.
        ['partition progress', () => watermark?.flush(), 3000],
        ['dead letter producer', () => deadLetters?.disconnect()],
        ['kafka admin', () => admin.disconnect()],
        ['retention', () => retention?.stop()],
        // Forced: nothing of ours is in flight any more, and a half-open socket must not hold the exit.
        ['mongodb', () => connection?.close(true)],
        ['ops server', () => opsServer?.close()],
      ]);
    },
    async start(handle) {
      // Listening first lets the platform see a live process (/healthz) that is not ready yet (/readyz).
      opsServer = createOpsServer({
        config: config.ops,
        checks: {
          readiness: {
            consumer: () => consumer?.isReady() ?? false,
            progress: stalled(config.health.stallReadyMs),
            kafka: kafkaReadiness(admin),
            mongodb: () => pingMongo(connection),
          },
          liveness: { progress: stalled(config.health.stallLiveMs) },
        },
        registry: metrics.registry,
        logger,
      });
      const port = await opsServer.listen();

      // A broker or store that is still starting delays the worker until the startup deadline.
      const deadline = Date.now() + config.startupTimeoutMs;
      const step = <T>(what: string, run: () => Promise<T>) => retryStartupStep(what, run, { deadline, logger });

      connection = await step('connect to MongoDB', () => connectMongo(config.mongo));
      const model = logModel(connection);
      await step('create the MongoDB indexes', () => ensureQueryIndexes(model));
      const letters = deadLetterModel(connection);
      const erasures = erasureModel(connection);
      await step('create the dead letter indexes', () => ensureIndexes(letters, DEAD_LETTER_INDEXES));
      await step('create the erasure indexes', () => ensureIndexes(erasures, ERASURE_INDEXES));
      retention = createRetention({ model, config: config.retention, logger, metrics });
      const live = retention;
      const retentionMode = await step('set up retention', () => live.start());

      await step('connect to Kafka', () => admin.connect());
      await step('create the Kafka topics', () =>
        ensureTopics(admin, [
          { topic: config.topics.topic, numPartitions: config.topics.partitions },
          { topic: config.topics.dlqTopic, numPartitions: config.topics.partitions },
        ]),
      );

      const publisher = createKafkaDeadLetterPublisher({ kafka, config: config.deadLetters });
      deadLetters = publisher;
      await step('connect the dead letter producer', () => publisher.connect());
      if (stopping) return;

      const writer = createMongoEventWriter(model, config.store);
      const letterStore = createMongoDeadLetterStore(letters, config.store);
      const erasureGuard = createMongoErasureGuard(
        { erasures, logs: model },
        { timeoutMs: config.store.writeTimeoutMs },
      );
      const recorder = createProgressRecorder({
        write: mongoProgressWrite(partitionProgressModel(connection), { timeoutMs: PROGRESS_WRITE_TIMEOUT_MS }),
        logger,
        onFailure: () => metrics.progressWriteFailures.inc(),
      });
      watermark = recorder;
      consumer = createLogConsumer({
        kafka,
        config: config.consumer,
        persist: (messages) =>
          persistBatch(messages, {
            writer,
            deadLetters: publisher,
            letterStore,
            erasures: erasureGuard,
            logger,
            metrics,
          }),
        logger,
        metrics,
        progress,
        watermark: recorder,
        onFatal: (error) => handle.exit(1, 'the consumer crashed and will not restart', error),
      });
      const started = consumer;
      await step('start the consumer', () => started.start());
      lagMonitor = createLagMonitor({
        admin,
        groupId: config.consumer.groupId,
        topic: config.consumer.topic,
        progress,
        watermark: recorder,
        intervalMs: config.health.lagCheckIntervalMs,
        logger,
      });
      lagMonitor.start();
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
    },
  });
}

/** A progress write is small; one slower than this is abandoned and carried by the next. */
const PROGRESS_WRITE_TIMEOUT_MS = 2000;

async function pingMongo(current: Connection | undefined): Promise<boolean> {
  if (current?.db === undefined || current.readyState !== ConnectionStates.connected) return false;
  await current.db.admin().ping();
  return true;
}

main();
