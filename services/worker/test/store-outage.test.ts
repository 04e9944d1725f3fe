import type { Admin, Kafka, Producer } from 'kafkajs';
import mongoose, { type Connection } from 'mongoose';
import { connectMongo, ensureQueryIndexes, logModel, type LogModel } from '@activity-logger/shared';
import { eventually } from '../../../test/support/eventually';
import { testServers, uniqueName } from '../../../test/support/isolation';
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy';
import {
  committedTotal,
  createTestProducer,
  createWorkerTopics,
  dropDatabase,
  expectStoredExactlyOnce,
  produceEvents,
  startTestWorker,
  storedCount,
  testEvents,
  waitForCommitsAtHighWatermark,
  type TestWorker,
  type WorkerTopics,
} from './harness';
import { testKafka } from '../../../test/support/kafka';
import { StoreUnavailableError } from '../src/errors';
import { createMongoEventWriter } from '../src/event-writer';

async function counterValue(worker: TestWorker, name: string): Promise<number> {
  return (await worker.metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
}

describe('worker during a store outage', () => {
  const dbName = uniqueName('outage');
  const topics: string[] = [];
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let proxy: TcpProxy;
  /** The worker's connection, through the proxy. */
  let viaProxy: Connection;
  /** The test's own view of the store, never cut. */
  let direct: Connection;
  let directModel: LogModel;
  let worker: TestWorker | undefined;

  beforeAll(async () => {
    kafka = testKafka('outage-test');
    admin = kafka.admin();
    producer = createTestProducer(kafka);
    await Promise.all([admin.connect(), producer.connect()]);

    const store = new URL(testServers().mongoUri);
    proxy = await startTcpProxy({ host: store.hostname, port: Number(store.port || 27017) });
    // Short timeouts so that a cut store fails each write in about a second instead of thirty.
    viaProxy = await mongoose
      .createConnection(`mongodb://127.0.0.1:${proxy.port}/?directConnection=true`, {
        dbName,
        serverSelectionTimeoutMS: 1000,
        connectTimeoutMS: 1000,
        heartbeatFrequencyMS: 500,
        autoIndex: false,
        autoCreate: false,
      })
      .asPromise();
    direct = await connectMongo({ uri: testServers().mongoUri, dbName });
    directModel = logModel(direct);
    await ensureQueryIndexes(directModel);
  });

  afterEach(async () => {
    proxy.restore();
    await worker?.stop();
    worker = undefined;
  });

  afterAll(async () => {
    await producer.disconnect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await viaProxy.close();
    await proxy.close();
    await dropDatabase(direct);
  });

  function freshTopic(name: string): Promise<WorkerTopics> {
    return createWorkerTopics(admin, name, topics);
  }

  function startBehindProxy(names: WorkerTopics): Promise<TestWorker> {
    return startTestWorker({ kafka, model: logModel(viaProxy), ...names, retry: { initialMs: 100, maxMs: 500 } });
  }

  async function waitForRetries(running: TestWorker, atLeast: number): Promise<void> {
    await eventually(
      async () => ((await counterValue(running, 'worker_store_retries_total')) >= atLeast ? true : undefined),
      { what: `at least ${atLeast} retried writes` },
    );
  }

  it('pauses without committing while the store is unreachable, then stores everything exactly once', async () => {
    const { topic, dlqTopic, groupId } = await freshTopic('outage');
    const [first, second] = [testEvents(150, 'outage-a'), testEvents(150, 'outage-b')];
    const running = await startBehindProxy({ topic, dlqTopic, groupId });
    worker = running;

    await produceEvents(producer, topic, first);
    await waitForCommitsAtHighWatermark(admin, groupId, topic);
    expect(await storedCount(directModel)).toBe(150);

    proxy.cut();
    await produceEvents(producer, topic, second);
    // Several failed attempts, each of which would have committed had it been treated as done.
    await waitForRetries(running, 3);
    expect(await committedTotal(admin, groupId, topic)).toBe(150);
    expect(await storedCount(directModel)).toBe(150);

    proxy.restore();
    await waitForCommitsAtHighWatermark(admin, groupId, topic);
    expect(await committedTotal(admin, groupId, topic)).toBe(300);
    expect(await storedCount(directModel)).toBe(300);
    await expectStoredExactlyOnce(directModel, [...first, ...second]);
    expect(await counterValue(running, 'worker_events_dead_lettered_total')).toBe(0);
  });

  it('gives up on a write that hangs on a half-open connection within its time limit, as a retriable failure', async () => {
    const writer = createMongoEventWriter(logModel(viaProxy), { writeTimeoutMs: 500 });
    // Connected and idle first, so the write goes out on a socket that then stops answering.
    await writer.writeBatch(testEvents(1, 'hung-warmup'));
    proxy.freeze();
    const started = Date.now();

    await expect(writer.writeBatch(testEvents(5, 'hung'))).rejects.toBeInstanceOf(StoreUnavailableError);

    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reads as stalled while it cannot store, and as making progress once it can again', async () => {
    const names = await freshTopic('outage-stall');
    const running = await startBehindProxy(names);
    worker = running;

    proxy.cut();
    await produceEvents(producer, names.topic, testEvents(50, 'outage-stall'));
    await waitForRetries(running, 2);
    await eventually(() => (running.progress.longestWaitMs() >= 2000 ? true : undefined), {
      what: 'the stalled partition to be seen waiting for 2 s',
    });

    proxy.restore();
    await waitForCommitsAtHighWatermark(admin, names.groupId, names.topic);
    await eventually(() => (running.progress.longestWaitMs() === 0 ? true : undefined), {
      what: 'no partition waiting once everything is committed',
    });
    const scrape = await running.metrics.registry.metrics();
    expect(scrape).toMatch(/worker_partition_stalled_seconds\{[^}]*\} 0\n/);
    expect(scrape).toMatch(/worker_seconds_since_last_commit\{/);
  });

  it('abandons the batch it is retrying as soon as it is stopped, and a successor stores it', async () => {
    const names = await freshTopic('outage-stop');
    const events = testEvents(100, 'outage-stop');
    const retrying = await startBehindProxy(names);
    worker = retrying;

    proxy.cut();
    await produceEvents(producer, names.topic, events);
    await waitForRetries(retrying, 2);
    const stopping = Date.now();
    await retrying.stop();
    worker = undefined;

    expect(Date.now() - stopping).toBeLessThan(5000);
    expect(await committedTotal(admin, names.groupId, names.topic)).toBe(0);

    proxy.restore();
    worker = await startBehindProxy(names);
    await waitForCommitsAtHighWatermark(admin, names.groupId, names.topic);
    await expectStoredExactlyOnce(directModel, events);
  });
});
