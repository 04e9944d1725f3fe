import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Connection } from 'mongoose';
import { connectMongo, logModel, type LogModel } from '@activity-logger/shared';
import { eventually } from '../../../test/support/eventually';
import { testServers, uniqueName } from '../../../test/support/isolation';
import { testKafka } from '../../../test/support/kafka';
import { freePort, startService, waitReady } from '../../../test/support/service-process';
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy';
import { createTestProducer, createTopics, dropDatabase, produceEvents, storedCount, testEvents } from './harness';

/**
 * Issue 6 (5): a store connection that goes half-open (no answer, no error) while a write is in
 * flight must not turn a SIGTERM into a forced exit: the write gives up within its time limit,
 * the batch is abandoned uncommitted, and the connection is closed without waiting for it.
 */
describe('worker SIGTERM while the store hangs', () => {
  const topic = uniqueName('hung-stop');
  const dbName = uniqueName('hung-stop');
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let proxy: TcpProxy;
  let direct: Connection;
  let model: LogModel;

  beforeAll(async () => {
    kafka = testKafka('hung-stop-test');
    admin = kafka.admin();
    producer = createTestProducer(kafka);
    await Promise.all([admin.connect(), producer.connect()]);
    await createTopics(admin, [topic], 2);
    const store = new URL(testServers().mongoUri);
    proxy = await startTcpProxy({ host: store.hostname, port: Number(store.port || 27017) });
    direct = await connectMongo({ uri: testServers().mongoUri, dbName });
    model = logModel(direct);
  });

  afterAll(async () => {
    await proxy.close();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
    await dropDatabase(direct);
  });

  it('reports the stall on /readyz, then exits 0 within the grace period, committing nothing it did not store', async () => {
    const ops = await freePort();
    const worker = startService('worker', {
      KAFKA_BROKERS: testServers().kafkaBrokers.join(','),
      MONGODB_URI: `mongodb://127.0.0.1:${proxy.port}/?directConnection=true`,
      MONGODB_DB: dbName,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName('hung-stop-group'),
      OPS_PORT: String(ops),
      STORE_WRITE_TIMEOUT_MS: '4000',
      STORE_RETRY_MAX_MS: '1000',
      LAG_CHECK_INTERVAL_MS: '1000',
      WORKER_STALL_READY_MS: '6000',
      SHUTDOWN_TIMEOUT_MS: '20000',
    });
    await waitReady(worker, `http://127.0.0.1:${ops}/readyz`);
    await produceEvents(producer, topic, testEvents(50, 'hung-stop-a'));
    await eventually(async () => ((await storedCount(model)) === 50 ? true : undefined), { what: '50 stored' });

    proxy.freeze();
    await produceEvents(producer, topic, testEvents(50, 'hung-stop-b'));
    // Behind and not committing: /readyz must say so, naming the stall (issue 6, item 2).
    const notReady = await eventually(
      async () => {
        const res = await fetch(`http://127.0.0.1:${ops}/readyz`);
        const body = (await res.json()) as { failing?: string[] };
        return res.status === 503 && body.failing?.includes('progress') === true ? body : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: '/readyz to report the stall' },
    );
    expect(notReady.failing).toEqual(expect.arrayContaining(['progress', 'mongodb']));
    const signalledAt = Date.now();
    const code = await worker.stop('SIGTERM');

    expect({ code, output: code === 0 ? '' : worker.output() }).toEqual({ code: 0, output: '' });
    expect(Date.now() - signalledAt).toBeLessThan(20_000);
    expect(await storedCount(model)).toBe(50);
  });
});
