import type { Admin, IHeaders, Kafka, Producer } from 'kafkajs';
import type { Connection } from 'mongoose';
import {
  completeEvent,
  connectMongo,
  DEFAULT_MAX_BATCH_BYTES,
  deadLetterModel,
  encodeEvent,
  ensureQueryIndexes,
  ensureTopics,
  erasureModel,
  HEADERS,
  logModel,
  partitionProgressModel,
  PRODUCER_DEFAULTS,
  type ActivityEvent,
  type LogModel,
} from '@activity-logger/shared';
import { createLogConsumer, type LogConsumer } from '../src/consumer';
import { createMongoDeadLetterStore } from '../src/dead-letter-store';
import { createKafkaDeadLetterPublisher, type KafkaDeadLetterPublisher } from '../src/dead-letters';
import { createMongoErasureGuard } from '../src/erasure-guard';
import { createProgressRecorder, mongoProgressWrite, type ProgressRecorder } from '../src/partition-progress';
import { createMongoEventWriter } from '../src/event-writer';
import { createWorkerMetrics, type WorkerMetrics } from '../src/metrics';
import { persistBatch } from '../src/persist-batch';
import { createProgressTracker, type ProgressTracker } from '../src/progress';
import { eventually } from '../../../test/support/eventually';
import { testServers, uniqueName } from '../../../test/support/isolation';
import { freePort, startService, type ServiceProcess } from '../../../test/support/service-process';
import { silentLogger, testKafka } from '../../../test/support/kafka';

/**
 * Builds the worker in-process from its real factories against the real servers, the same way
 * main.ts does minus signals and the ops server, so a test can look at its metrics and stop it.
 */
export interface TestWorker {
  readonly consumer: LogConsumer;
  readonly progress: ProgressTracker;
  readonly deadLetters: KafkaDeadLetterPublisher;
  readonly metrics: WorkerMetrics;
  readonly watermark: ProgressRecorder;
  stop(): Promise<void>;
}

export async function startTestWorker(options: {
  kafka: Kafka;
  model: LogModel;
  topic: string;
  dlqTopic: string;
  groupId: string;
  retry?: { initialMs: number; maxMs: number };
  writeTimeoutMs?: number;
}): Promise<TestWorker> {
  const progress = createProgressTracker();
  const metrics = createWorkerMetrics({ progress, defaultMetrics: false });
  const deadLetters = createKafkaDeadLetterPublisher({
    kafka: options.kafka,
    config: { topic: options.dlqTopic, maxBatchBytes: DEFAULT_MAX_BATCH_BYTES },
  });
  await deadLetters.connect();
  const writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
  const writer = createMongoEventWriter(options.model, { writeTimeoutMs });
  const connection = options.model.db;
  const letterStore = createMongoDeadLetterStore(deadLetterModel(connection), { writeTimeoutMs });
  const erasures = createMongoErasureGuard(
    { erasures: erasureModel(connection), logs: options.model },
    { timeoutMs: writeTimeoutMs },
  );
  const watermark = createProgressRecorder({
    write: mongoProgressWrite(partitionProgressModel(connection), { timeoutMs: 2000 }),
    logger: silentLogger,
  });
  const fatal: Error[] = [];
  const consumer = createLogConsumer({
    kafka: options.kafka,
    config: {
      topic: options.topic,
      groupId: options.groupId,
      partitionsConsumedConcurrently: 2,
      sessionTimeoutMs: 8000,
      heartbeatIntervalMs: 1000,
      retry: options.retry ?? { initialMs: 100, maxMs: 1000 },
    },
    persist: (messages) =>
      persistBatch(messages, { writer, deadLetters, letterStore, erasures, logger: silentLogger, metrics }),
    logger: silentLogger,
    metrics,
    progress,
    watermark,
    onFatal: (error) => fatal.push(error),
  });
  await consumer.start();
  await eventually(() => (consumer.isReady() ? true : undefined), { what: 'the consumer to join its group' });
  return {
    consumer,
    progress,
    deadLetters,
    metrics,
    watermark,
    async stop() {
      await consumer.stop();
      await watermark.flush();
      await deadLetters.disconnect();
      if (fatal.length > 0) throw new Error(`the consumer crashed: ${fatal[0]?.message}`, { cause: fatal[0] });
    },
  };
}

export function testEvents(count: number, prefix: string, users = 17): ActivityEvent[] {
  const receivedAt = new Date();
  return Array.from({ length: count }, (_, i) =>
    completeEvent(
      { userId: `user-${i % users}`, action: 'User_Login', metadata: { i, source: prefix } },
      { receivedAt, traceId: `trace-${prefix}-${i}`, mintId: () => `${prefix}-${i}` },
    ),
  );
}

export function eventRecord(event: ActivityEvent): { key: string; value: string; headers: IHeaders } {
  return { key: event.userId, value: encodeEvent(event), headers: { [HEADERS.traceId]: event.traceId } };
}

export function createTestProducer(kafka: Kafka): Producer {
  return kafka.producer(PRODUCER_DEFAULTS);
}

/** Produces in chunks with acks=all, as the API does. */
export async function produceEvents(
  producer: Producer,
  topic: string,
  events: readonly ActivityEvent[],
  chunk = 500,
): Promise<void> {
  for (let start = 0; start < events.length; start += chunk) {
    await producer.send({ topic, acks: -1, messages: events.slice(start, start + chunk).map(eventRecord) });
  }
}

export async function createTopics(admin: Admin, topics: readonly string[], partitions = 3): Promise<void> {
  await ensureTopics(
    admin,
    topics.map((topic) => ({ topic, numPartitions: partitions })),
  );
}

export interface WorkerTopics {
  readonly topic: string;
  readonly dlqTopic: string;
  readonly groupId: string;
}

/**
 * A fresh topic, its DLQ topic and a consumer group for one test; both topic names are added to
 * `created` so the test file can delete them at the end.
 */
export async function createWorkerTopics(admin: Admin, name: string, created: string[]): Promise<WorkerTopics> {
  const topic = uniqueName(name);
  const dlqTopic = `${topic}.dlq`;
  created.push(topic, dlqTopic);
  await createTopics(admin, [topic, dlqTopic]);
  return { topic, dlqTopic, groupId: uniqueName(`${name}-group`) };
}

/** Sum over partitions of the group's committed offsets (a partition never committed counts 0). */
export async function committedTotal(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

export async function highWatermarkTotal(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

/** Waits until the group committed exactly up to each partition's high watermark. */
export async function waitForCommitsAtHighWatermark(
  admin: Admin,
  groupId: string,
  topic: string,
  timeoutMs = 30_000,
): Promise<void> {
  const high = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)] as const));
  await eventually(
    async () => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const behind = (offsets?.partitions ?? []).filter((p) => Math.max(0, Number(p.offset)) !== high.get(p.partition));
      return behind.length === 0 ? true : undefined;
    },
    { timeoutMs, what: `group ${groupId} to commit up to the high watermarks of ${topic}` },
  );
}

export async function storedCount(model: LogModel): Promise<number> {
  return model.collection.countDocuments({});
}

export async function dropDatabase(connection: Connection | undefined): Promise<void> {
  if (connection === undefined) return;
  await connection.dropDatabase().catch(() => undefined);
  await connection.close();
}

/**
 * Asserts that each of `events` is stored exactly once, counted by the marker testEvents puts in
 * its metadata (source and index) rather than by `_id`: a duplicate under another key — a re-minted
 * id, say — would show here, where a count of distinct ids could never see one.
 */
export async function expectStoredExactlyOnce(model: LogModel, events: readonly ActivityEvent[]): Promise<void> {
  const markerOf = (metadata: unknown) => {
    const { source, i } = (metadata ?? {}) as { source?: unknown; i?: unknown };
    return `${String(source)}#${String(i)}`;
  };
  const wanted = new Set(events.map((event) => markerOf(event.metadata)));
  const stored = await model.collection
    .find({}, { projection: { metadata: 1 } })
    .map((doc) => markerOf((doc as { metadata?: unknown }).metadata))
    .toArray();
  const ours = stored.filter((marker) => wanted.has(marker));
  const counts = new Map<string, number>();
  for (const marker of ours) counts.set(marker, (counts.get(marker) ?? 0) + 1);
  expect([...counts].filter(([, count]) => count > 1)).toEqual([]);
  expect([...wanted].filter((marker) => !counts.has(marker))).toEqual([]);
}

/**
 * What a test of worker *processes* needs: a topic of its own (the worker creates its DLQ topic),
 * a group and database name, clients to produce and to look, and a `startWorker` that runs
 * services/worker/src/main.ts against them with `env` added. `close` stops every worker it
 * started (SIGKILL, if still running) and removes what the test created.
 */
export interface WorkerProcessEnvironment {
  readonly topic: string;
  readonly groupId: string;
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly producer: Producer;
  readonly model: LogModel;
  startWorker(env?: Record<string, string>): Promise<{ worker: ServiceProcess; ops: string }>;
  close(): Promise<void>;
}

export async function workerProcessEnvironment(name: string, partitions: number): Promise<WorkerProcessEnvironment> {
  const topic = uniqueName(name);
  const groupId = uniqueName(`${name}-group`);
  const dbName = uniqueName(name);
  const kafka = testKafka(`${name}-test`);
  const admin = kafka.admin();
  const producer = createTestProducer(kafka);
  await Promise.all([admin.connect(), producer.connect()]);
  await createTopics(admin, [topic], partitions);
  const connection = await connectMongo({ uri: testServers().mongoUri, dbName });
  const workers: ServiceProcess[] = [];
  return {
    topic,
    groupId,
    kafka,
    admin,
    producer,
    model: logModel(connection),
    async startWorker(env = {}) {
      const port = await freePort();
      const worker = startService('worker', {
        KAFKA_BROKERS: testServers().kafkaBrokers.join(','),
        MONGODB_URI: testServers().mongoUri,
        MONGODB_DB: dbName,
        KAFKA_TOPIC: topic,
        KAFKA_GROUP_ID: groupId,
        OPS_PORT: String(port),
        ...env,
      });
      workers.push(worker);
      return { worker, ops: `http://127.0.0.1:${port}` };
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
      await admin.disconnect();
      await dropDatabase(connection);
    },
  };
}

/**
 * The shared set-up of a worker test file: Kafka clients connected before the tests and closed
 * after, a `setUp(name)` giving each test topics, a group and a database of its own (with the
 * query indexes), and everything it created removed at the end. The file keeps its own worker
 * variable and stops it after each test.
 */
export function workerTestBed(clientId: string): {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  setUp: (name: string) => Promise<WorkerTopics & { model: LogModel; connection: Connection }>;
} {
  const kafka = testKafka(clientId);
  const admin = kafka.admin();
  const producer = createTestProducer(kafka);
  const topics: string[] = [];
  const connections: Connection[] = [];

  beforeAll(() => Promise.all([admin.connect(), producer.connect()]));
  afterAll(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await Promise.all(connections.map((connection) => dropDatabase(connection)));
  });

  return {
    kafka,
    admin,
    producer,
    setUp: async (name) => {
      const names = await createWorkerTopics(admin, name, topics);
      const connection = await connectMongo({ uri: testServers().mongoUri, dbName: uniqueName(name) });
      connections.push(connection);
      const model = logModel(connection);
      await ensureQueryIndexes(model);
      return { ...names, model, connection };
    },
  };
}
