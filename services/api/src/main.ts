import 'dotenv/config';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Producer } from 'kafkajs';
import type { Connection } from 'mongoose';
import {
  ConfigError,
  connectMongo,
  createKafka,
  createLogger,
  ensureQueryIndexes,
  ensureTopics,
  kafkaReadiness,
  logModel,
  PRODUCER_DEFAULTS,
  retryStartupStep,
  runProcess,
  stopInOrder,
  type OpsServer,
} from '@activity-logger/shared';
import { createApp } from './app';
import { loadApiConfig, type ApiConfig } from './config';
import { createKafkaPublisher, type EventPublisher } from './ingest/publisher';
import { createApiMetrics } from './metrics';
import { createApiOpsServer } from './ops';
import { createLogReader } from './query/log-reader';

/** Composition root: the only place that reads the environment, connects, listens and exits. */
function readConfig(): ApiConfig {
  try {
    return loadApiConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`api: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

function main(): void {
  const config = readConfig();
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
        ['http server', drainHttp],
        ['publisher', () => publisher?.close()],
        ['kafka producer', () => producer?.disconnect()],
        ['kafka admin', () => admin.disconnect()],
        ['mongodb', () => connection?.close()],
        ['ops server', () => ops?.close()],
      ]),
    async start() {
      const reader = { current: undefined as ReturnType<typeof createLogReader> | undefined };
      ops = createApiOpsServer({
        config: config.ops,
        kafkaReady: kafkaReadiness(admin),
        listening: () => server?.listening === true,
        storeReady: async () => {
          if (reader.current === undefined) return false;
          await reader.current.ping();
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
      const kafkaProducer = kafka.producer(PRODUCER_DEFAULTS);
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
      );
      await step('connect the Kafka producer', () => kafkaProducer.connect());

      connection = await step('connect to MongoDB', () => connectMongo(config.mongo));
      const model = logModel(connection);
      await step('create the MongoDB indexes', () => ensureQueryIndexes(model));
      reader.current = createLogReader(model);

      const app = createApp({ config, publisher, reader: reader.current, logger, metrics });
      const http = createServer((req, res) => {
        if (draining) res.setHeader('Connection', 'close');
        app(req, res);
      });
      server = http;
      // Keep-alive sockets longer than a typical load balancer's idle timeout avoid spurious 502s.
      http.keepAliveTimeout = 65_000;
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
