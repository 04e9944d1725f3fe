import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Connection } from 'mongoose';
import { connectMongo, logModel, type LogModel } from '@activity-logger/shared';
import { eventually } from '../../../test/support/eventually';
import { testServers, uniqueName } from '../../../test/support/isolation';
import { freePort, startService, waitReady, type ServiceProcess } from '../../../test/support/service-process';
import {
  createTestProducer,
  createTopics,
  dropDatabase,
  expectStoredExactlyOnce,
  produceEvents,
  storedCount,
  testEvents,
  waitForCommitsAtHighWatermark,
} from './harness';
import { testKafka } from '../../../test/support/kafka';

const SHUTDOWN_BUDGET_MS = 25_000;

describe('worker process and SIGTERM', () => {
  const topic = uniqueName('sigterm');
  const groupId = uniqueName('sigterm-group');
  const dbName = uniqueName('sigterm');
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let connection: Connection;
  let model: LogModel;
  const workers: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('sigterm-test');
    admin = kafka.admin();
    producer = createTestProducer(kafka);
    await Promise.all([admin.connect(), producer.connect()]);
    await createTopics(admin, [topic], 4);
    connection = await connectMongo({ uri: testServers().mongoUri, dbName });
    model = logModel(connection);
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
    await producer.disconnect();
    // The worker created the DLQ topic itself.
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
    await dropDatabase(connection);
  });

  it('exits 0 within the grace period mid-stream, and a successor stores every event exactly once', async () => {
    const env = {
      KAFKA_BROKERS: testServers().kafkaBrokers.join(','),
      MONGODB_URI: testServers().mongoUri,
      MONGODB_DB: dbName,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: groupId,
    };
    const events = testEvents(2000, 'sigterm', 50);
    const chunks = Array.from({ length: 20 }, (_, i) => events.slice(i * 100, (i + 1) * 100));

    const start = async () => {
      const port = await freePort();
      const worker = startService('worker', { ...env, OPS_PORT: String(port), LOG_LEVEL: 'warn' });
      workers.push(worker);
      return { worker, readyz: `http://127.0.0.1:${port}/readyz` };
    };
    const { worker: first, readyz } = await start();
    await waitReady(first, readyz);

    let signalledAt = 0;
    for (const [index, chunk] of chunks.entries()) {
      await produceEvents(producer, topic, chunk);
      // Half the events are out and the worker is busy with them: stop it as soon as it stored any.
      if (index === 9) {
        await eventually(async () => ((await storedCount(model)) > 0 ? true : undefined), {
          intervalMs: 10,
          what: 'a first stored event',
        });
        first.child.kill('SIGTERM');
        signalledAt = Date.now();
      }
    }
    const code = await first.exited();
    const shutdownMs = Date.now() - signalledAt;
    expect({ code, output: code === 0 ? '' : first.output() }).toEqual({ code: 0, output: '' });
    expect(shutdownMs).toBeLessThan(SHUTDOWN_BUDGET_MS);
    const storedByFirst = await storedCount(model);
    expect(storedByFirst).toBeGreaterThan(0);
    expect(storedByFirst).toBeLessThan(events.length);

    const { worker: second } = await start();
    await eventually(async () => ((await storedCount(model)) === events.length ? true : undefined), {
      timeoutMs: 60_000,
      what: `all ${events.length} events stored`,
    });
    await waitForCommitsAtHighWatermark(admin, groupId, topic);
    await expectStoredExactlyOnce(model, events);

    expect(await second.stop('SIGTERM')).toBe(0);
  });
});
