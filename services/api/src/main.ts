import 'dotenv/config';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
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
} from '@activity-logger/shared';
import { createApp } from './app';
import { AUTH_DISABLED_WARNING, loadKeyRing } from './auth/load-keys';
import { loadApiConfig } from './config';
import { createKafkaPublisher } from './ingest/publisher';
import { applyServerLimits, serverOptions } from './http/server-limits';
import { createApiMetrics } from './metrics';
import { createLogReader } from './query/log-reader';

/** Composition root: the only place that reads the environment, connects, listens and exits. */
async function main(): Promise<void> {
  let config;
  let keys;
  try {
    config = loadApiConfig(process.env);
    keys = await loadKeyRing(config.auth, (path) => readFile(path, 'utf8'));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`api: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, service: 'api' });
  const metrics = createApiMetrics();
  if (keys === undefined) {
    process.stderr.write(`\n${'!'.repeat(72)}\n${AUTH_DISABLED_WARNING}\n${'!'.repeat(72)}\n\n`);
    logger.warn(AUTH_DISABLED_WARNING);
  } else {
    logger.info({ keys: keys.size, names: keys.names() }, 'API keys loaded');
  }

  // Bounded retries: a request must be answered (202 or 503) within PRODUCE_TIMEOUT_MS.
  const kafka = createKafka(config.kafka, logger, {
    connectionTimeout: 3000,
    requestTimeout: config.produce.timeoutMs,
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
  });
  // Kept connected: /readyz asks the cluster through it.
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic: config.topic.name, numPartitions: config.topic.partitions }]);

  const producer = kafka.producer(PRODUCER_DEFAULTS);
  const publisher = createKafkaPublisher(
    producer,
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
  await producer.connect();

  const connection = await connectMongo(config.mongo);
  const model = logModel(connection);
  await ensureQueryIndexes(model);

  const app = createApp({
    config,
    keys,
    publisher,
    kafkaReady: kafkaReadiness(admin),
    reader: createLogReader(model, config.query),
    logger,
    metrics,
  });
  let draining = false;
  const server = createServer(serverOptions(config.httpLimits), (req, res) => {
    // While draining, every answer tells keep-alive clients to reconnect (to another replica).
    if (draining) res.setHeader('Connection', 'close');
    app(req, res);
  });
  applyServerLimits(server, config.httpLimits);
  server.listen(config.http.port, config.http.host, () => {
    logger.info({ port: config.http.port }, `api listening on http://${config.http.host}:${config.http.port}`);
  });

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) =>
    (stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      const forced = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, 25_000);
      forced.unref();
      // Stop taking connections and let requests in flight get their acknowledgement (each waits
      // at most PRODUCE_TIMEOUT_MS); busy keep-alive connections are closed after that.
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cutOff = setTimeout(() => server.closeAllConnections(), config.produce.timeoutMs + 1000);
      await closed;
      clearTimeout(cutOff);
      await publisher.close();
      await producer.disconnect();
      await admin.disconnect();
      await connection.close();
      logger.info('stopped');
    })());

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stop(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `api: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
