import 'dotenv/config';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import type { Connection } from 'mongoose';
import {
  connectMongo,
  createKafka,
  createLogger,
  ensureQueryIndexes,
  ensureTopics,
  kafkaReadiness,
  loadConfigOrExit,
  logModel,
  PRODUCER_DEFAULTS,
  retryStartupStep,
  runProcess,
  stopInOrder,
  type OpsServer,
} from '@activity-logger/shared';
import { createApp } from './app';
import { createMongoDeliveryStore, type DeliveryStore } from './delivery/delivery-store';
import { createWatermarkReader, kafkaPartitionCount } from './delivery/watermark';
import { AUTH_DISABLED_WARNING, loadKeyRing } from './auth/load-keys';
import { loadApiConfig } from './config';
import { applyServerLimits, serverOptions } from './http/server-limits';
import { createKafkaPublisher, recordingPartitioner, type EventPublisher } from './ingest/publisher';
import { createApiMetrics } from './metrics';
import { createApiOpsServer } from './ops';
import { deferred } from './http/deferred';
import { createLogReader, type LogReader } from './query/log-reader';
import { deferredViews } from './views';

/** Composition root: the only place that reads the environment, connects, listens and exits. */
function main(): void {
  const config = loadConfigOrExit('api', () => loadApiConfig(process.env));
  const logger = createLogger({ level: config.logLevel, service: 'api' });
  const metrics = createApiMetrics();

  // Bounded retries: a request must be answered (202 or 503) within PRODUCE_TIMEOUT_MS.
  const kafka = createKafka(config.kafka, logger, {
    connectionTimeout: 3000,
    requestTimeout: config.produce.timeoutMs,
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
  });
  // Kept connected: /readyz asks the cluster through it.
  const admin = kafka.admin();
  let producer: Producer | undefined;
  let publisher: EventPublisher | undefined;
  let connection: Connection | undefined;
  let ops: OpsServer | undefined;
  let server: Server | undefined;
  let draining = false;
  // Dead letters, live tail, export: served from the start, answering 503 until the store is reached.
  // One partition counter for everything that computes the watermark (GET, the tail, receipts).
  const partitionCount = kafkaPartitionCount(admin, config.topic.name);
  const views = deferredViews(config, partitionCount);

  /**
   * Readiness fails first, while the API still serves, so that load balancers stop sending before
   * the listener closes; then requests in flight get their acknowledgement (each waits at most
   * PRODUCE_TIMEOUT_MS), and busy keep-alive connections are closed after that.
   */
  async function drainHttp(): Promise<void> {
    ops?.drain();
    // Every answer from now on tells keep-alive clients to reconnect (to another replica).
    draining = true;
    const listening = server;
    if (listening === undefined) return;
    logger.info({ delayMs: config.shutdown.delayMs }, 'not ready any more; still serving until the delay ends');
    await sleep(config.shutdown.delayMs);
    // Live tails and exports end now, or they would hold the drain.
    views.views.streams.closeAll();
    views.views.exports.closeAll();
    const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
    listening.closeIdleConnections();
    const cutOff = setTimeout(() => listening.closeAllConnections(), config.produce.timeoutMs + 1000);
    await closed;
    clearTimeout(cutOff);
  }

  runProcess({
    name: 'api',
    logger,
    shutdownTimeoutMs: config.shutdown.timeoutMs,
    stop: () =>
      stopInOrder(logger, [
        ['http server', drainHttp, config.shutdown.delayMs + config.produce.timeoutMs + 2000],
        // Every request has been answered by now; a send still in flight to a paused broker is not waited for long.
        ['publisher', () => publisher?.close(), 3000],
        ['kafka producer', () => producer?.disconnect(), 3000],
        ['kafka admin', () => admin.disconnect(), 3000],
        // Forced: a query stuck on a half-open socket must not hold the exit.
        ['mongodb', () => connection?.close(true)],
        ['ops server', () => ops?.close()],
      ]),
    async start(handle) {
      // A key file that cannot be read or parsed ends the start, naming the problem.
      const keys = await loadKeyRing(config.auth, (path) => readFile(path, 'utf8'));
      if (keys === undefined) {
        process.stderr.write(`\n${'!'.repeat(72)}\n${AUTH_DISABLED_WARNING}\n${'!'.repeat(72)}\n\n`);
        logger.warn(AUTH_DISABLED_WARNING);
      } else {
        logger.info({ keys: keys.size, names: keys.names() }, 'API keys loaded');
      }
      // Ingest never needs the store: the API takes events as soon as Kafka does, and what reads
      // the store answers 503 STORE_UNAVAILABLE (Retry-After) until it is reached, in the background.
      const store = deferred<LogReader>();
      const deliveryStore = deferred<DeliveryStore>();
      const watermark = createWatermarkReader({
        readProgress: () => deliveryStore.value.allProgress(config.topic.name),
        partitionCount,
      });
      ops = createApiOpsServer({
        config: config.ops,
        kafkaReady: kafkaReadiness(admin),
        listening: () => server?.listening === true,
        storeReady: async () => {
          await store.value.ping();
          return true;
        },
        registry: metrics.registry,
        logger,
      });
      const opsPort = await ops.listen();

      // A broker or store that is still starting delays the API until the startup deadline.
      const deadline = Date.now() + config.startupTimeoutMs;
      const step = <T>(what: string, run: () => Promise<T>) => retryStartupStep(what, run, { deadline, logger });

      await step('connect to Kafka', () => admin.connect());
      await step('create the Kafka topic', () =>
        ensureTopics(admin, [{ topic: config.topic.name, numPartitions: config.topic.partitions }]),
      );
      // The publisher reads back which partition each event went to (for its receipt's offset).
      const partitions = recordingPartitioner(PRODUCER_DEFAULTS.createPartitioner);
      const kafkaProducer = kafka.producer({ ...PRODUCER_DEFAULTS, createPartitioner: partitions.createPartitioner });
      producer = kafkaProducer;
      publisher = createKafkaPublisher(
        kafkaProducer,
        {
          topic: config.topic.name,
          lingerMs: config.produce.lingerMs,
          maxBatchBytes: config.produce.maxBatchBytes,
          maxBatchEvents: config.produce.maxBatchEvents,
          ackTimeoutMs: config.produce.timeoutMs,
        },
        {
          produced: (events, seconds) => {
            metrics.produceBatchSize.observe(events);
            metrics.produceDuration.observe(seconds);
          },
          failed: (events, error) => {
            metrics.produceFailures.inc();
            logger.error({ err: error, events }, 'produce request failed');
          },
        },
        partitions,
      );
      await step('connect the Kafka producer', () => kafkaProducer.connect());

      // The store is reached in the background, for as long as it takes: ingest does not need it,
      // and queries answer 503 until it is there. Only a permanent refusal (credentials) ends the API.
      const connectStore = async (): Promise<void> => {
        const always = { deadline: Number.POSITIVE_INFINITY, logger, maxDelayMs: 10_000 };
        const connected = await retryStartupStep('connect to MongoDB', () => connectMongo(config.mongo), always);
        connection = connected;
        const model = logModel(connected);
        await retryStartupStep('create the MongoDB indexes', () => ensureQueryIndexes(model), always);
        store.attach(createLogReader(model, config.query));
        deliveryStore.attach(createMongoDeliveryStore(connected, config.query));
        views.attach(connected);
        logger.info('connected to the store; queries are served');
      };
      connectStore().catch((error: unknown) => handle.exit(1, 'the store refused the API for good', error));

      const app = createApp({
        config,
        keys,
        publisher,
        reader: store.value,
        delivery: { topic: config.topic.name, store: deliveryStore.value, watermark },
        logger,
        metrics,
        views: views.views,
      });
      const http = createServer(serverOptions(config.httpLimits), (req, res) => {
        if (draining) res.setHeader('Connection', 'close');
        app(req, res);
      });
      server = http;
      // Timeouts, keep-alive and connection caps set on purpose (see http/server-limits.ts).
      applyServerLimits(http, config.httpLimits);
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.http.port, config.http.host, () => resolve());
      });
      logger.info(
        { port: config.http.port, opsPort },
        `api listening on http://${config.http.host}:${config.http.port} (ops on port ${opsPort})`,
      );
    },
  });
}

main();
