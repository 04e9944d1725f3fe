import type { Express } from 'express';
import request from 'supertest';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Connection } from 'mongoose';
import {
  connectMongo,
  createKafka,
  ensureQueryIndexes,
  ensureTopics,
  kafkaReadiness,
  logModel,
  type Logger,
  type LogModel,
  PRODUCER_DEFAULTS,
} from '@activity-logger/shared';
import { createApp, type AppDeps } from '../src/app';
import { createMongoDeliveryStore } from '../src/delivery/delivery-store';
import { createWatermarkReader, kafkaPartitionCount } from '../src/delivery/watermark';
import { KeyRing, parseKeyLines } from '../src/auth/api-keys';
import type { RateLimitSettings } from '../src/http/rate-limits';
import {
  createKafkaPublisher,
  recordingPartitioner,
  type EventPublisher,
  type PublisherOptions,
} from '../src/ingest/publisher';
import { createApiMetrics, type ApiMetrics } from '../src/metrics';
import { createApiOpsServer } from '../src/ops';
import { createLogReader } from '../src/query/log-reader';
import { testServers, uniqueName } from '../../../test/support/isolation';
import { silentLogger } from '../../../test/support/kafka';
import { testKey, type TestKey } from '../../../test/support/api-keys';
import type { ViewDeps } from '../src/views';
import { testViews, type ViewOptions } from './views-support';

/** Limits no ordinary test reaches; rate-limit tests pass their own. */
const GENEROUS_LIMITS: RateLimitSettings = { windowSeconds: 60, ingestEvents: 100_000_000, readRequests: 100_000_000 };

export interface TestApi {
  readonly app: Express;
  /** What `app` was built from, for a test that builds it again with one part replaced. */
  readonly deps: AppDeps;
  /** The ops server (/healthz, /readyz, /metrics), listening on a free port. */
  readonly opsUrl: string;
  /** supertest for `app`, sending the default key (scopes ingest and read) on every request. */
  readonly client: request.Agent;
  /** The default key. */
  readonly key: TestKey;
  readonly topic: string;
  readonly kafka: Kafka;
  readonly model: LogModel;
  readonly metrics: ApiMetrics;
  readonly publisher: EventPublisher;
  /** Dead letters, live tail, export (their store, progress reader and open-stream caps). */
  readonly views: ViewDeps;
  readonly connection: Connection;
  close(): Promise<void>;
}

/**
 * The API as main.ts wires it, against the real broker and store, on a topic and database of its
 * own. `brokers` can point the producer elsewhere (an unreachable broker) while queries still
 * reach the real store.
 */
export async function startTestApi(
  options: {
    brokers?: string[];
    produceTimeoutMs?: number;
    publisher?: Partial<PublisherOptions>;
    /** More accepted keys besides the default one. */
    keys?: readonly TestKey[];
    rateLimits?: Partial<RateLimitSettings>;
    queryTimeoutMs?: number;
    logger?: Logger;
    views?: ViewOptions;
  } = {},
): Promise<TestApi> {
  const servers = testServers();
  const topic = uniqueName('api');
  const realKafka = createKafka({ brokers: servers.kafkaBrokers, clientId: 'api-test', ssl: false }, silentLogger);
  const admin: Admin = realKafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 3 }]);

  const produceTimeoutMs = options.produceTimeoutMs ?? 5000;
  const producerKafka =
    options.brokers === undefined
      ? realKafka
      : createKafka({ brokers: options.brokers, clientId: 'api-test', ssl: false }, silentLogger, {
          connectionTimeout: 500,
          requestTimeout: produceTimeoutMs,
          retry: { initialRetryTime: 100, retries: 2, maxRetryTime: 500 },
        });
  const partitions = recordingPartitioner();
  const producer: Producer = producerKafka.producer({
    ...PRODUCER_DEFAULTS,
    createPartitioner: partitions.createPartitioner,
  });
  // Readiness asks the same brokers the producer uses (so an unreachable broker reads as such).
  const probeAdmin: Admin = producerKafka.admin();

  const metrics = createApiMetrics();
  const publisher = createKafkaPublisher(
    producer,
    {
      topic,
      lingerMs: 5,
      maxBatchBytes: 900_000,
      maxBatchEvents: 2000,
      ackTimeoutMs: produceTimeoutMs,
      ...options.publisher,
    },
    {
      produced: (events, seconds) => {
        metrics.produceBatchSize.observe(events);
        metrics.produceDuration.observe(seconds);
      },
      failed: () => metrics.produceFailures.inc(),
    },
    partitions,
  );

  // After the publisher exists, as in main.ts: it learns of the connection from the producer's events.
  if (options.brokers === undefined) await producer.connect();

  const connection: Connection = await connectMongo({ uri: servers.mongoUri, dbName: uniqueName('api') });
  const model = logModel(connection);
  await ensureQueryIndexes(model);

  const reader = createLogReader(model, { timeoutMs: options.queryTimeoutMs ?? 3000 });
  const key = testKey('test-client', ['ingest', 'read']);
  const deliveryStore = createMongoDeliveryStore(connection, { timeoutMs: options.queryTimeoutMs ?? 3000 });
  const views = testViews(connection, admin, topic, options.views);
  const deps: AppDeps = {
    config: {
      produce: { timeoutMs: produceTimeoutMs, lingerMs: 5, maxBatchBytes: 900_000, maxBatchEvents: 2000 },
      cursorSecret: 'test-cursor-secret-0123456789',
      rateLimits: { ...GENEROUS_LIMITS, ...options.rateLimits },
    },
    keys: new KeyRing(parseKeyLines([key.line, ...(options.keys ?? []).map((k) => k.line)]).keys),
    publisher,
    reader,
    delivery: {
      topic,
      store: deliveryStore,
      watermark: createWatermarkReader({
        readProgress: () => deliveryStore.allProgress(topic),
        partitionCount: kafkaPartitionCount(admin, topic),
      }),
    },
    logger: options.logger ?? silentLogger,
    metrics,
    views,
  };
  const app = createApp(deps);
  const ops = createApiOpsServer({
    config: { port: 0, host: '127.0.0.1' },
    kafkaReady: kafkaReadiness(probeAdmin),
    listening: () => true,
    storeReady: () => reader.ping().then(() => true),
    registry: metrics.registry,
    logger: silentLogger,
  });
  const opsUrl = `http://127.0.0.1:${await ops.listen()}`;

  return {
    app,
    deps,
    opsUrl,
    client: request.agent(app).set(key.header),
    key,
    topic,
    kafka: realKafka,
    model,
    metrics,
    publisher,
    views,
    connection,
    async close() {
      views.streams.closeAll();
      views.exports.closeAll();
      await ops.close();
      await publisher.close();
      await producer.disconnect().catch(() => undefined);
      await probeAdmin.disconnect().catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
      await connection.dropDatabase();
      await connection.close();
    },
  };
}
