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
  testEvents,
} from './harness';
import { testKafka } from '../../../test/support/kafka';

/**
 * Issue 6 (3): a SIGKILLed worker leaves no goodbye; its partitions move only when its session
 * expires. With the default session (KAFKA_SESSION_TIMEOUT_MS, 8 s) the survivor must store the
 * dead member's partitions again within about 12 s — kafkajs' own default (30 s) could not.
 */
describe('two workers, one killed', () => {
  const topic = uniqueName('failover');
  const groupId = uniqueName('failover-group');
  const dbName = uniqueName('failover');
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let connection: Connection;
  let model: LogModel;
  const workers: ServiceProcess[] = [];

  beforeAll(async () => {
    kafka = testKafka('failover-test');
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
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
    await dropDatabase(connection);
  });

  async function start(): Promise<{ worker: ServiceProcess; ops: string }> {
    const port = await freePort();
    const worker = startService('worker', {
      KAFKA_BROKERS: testServers().kafkaBrokers.join(','),
      MONGODB_URI: testServers().mongoUri,
      MONGODB_DB: dbName,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: groupId,
      OPS_PORT: String(port),
    });
    workers.push(worker);
    const ops = `http://127.0.0.1:${port}`;
    await waitReady(worker, `${ops}/readyz`);
    return { worker, ops };
  }

  /** The partitions a worker owns, read from its lag gauge (it lists owned partitions only). */
  async function owned(ops: string): Promise<string[]> {
    const text = await (await fetch(`${ops}/metrics`)).text();
    return [...text.matchAll(/^worker_consumer_lag\{[^}]*partition="(\d+)"[^}]*\}/gm)].map((m) => m[1] ?? '');
  }

  it('moves the dead member’s partitions to the survivor, which stores again within 12 s', async () => {
    const first = await start();
    const second = await start();
    const before = testEvents(400, 'failover-before', 40);
    await produceEvents(producer, topic, before);
    await eventually(
      async () => {
        const [a, b] = await Promise.all([owned(first.ops), owned(second.ops)]);
        return a.length > 0 && b.length > 0 && a.length + b.length === 4 ? true : undefined;
      },
      { what: 'both workers to own partitions' },
    );
    await eventually(async () => ((await model.countDocuments()) === before.length ? true : undefined), {
      what: 'the first events stored',
    });

    first.worker.child.kill('SIGKILL');
    const killedAt = Date.now();
    const after = testEvents(400, 'failover-after', 40); // 40 users: every partition gets some
    await produceEvents(producer, topic, after);
    await eventually(async () => ((await model.countDocuments()) === before.length + after.length ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'every event produced after the kill stored',
    });
    const resumedInMs = Date.now() - killedAt;
    process.stdout.write(`failover: survivor stored the dead member's partitions ${resumedInMs} ms after SIGKILL\n`);

    expect(resumedInMs).toBeLessThan(12_000);
    // The lag gauge lists a partition once its lag is known (a batch or the next lag check).
    await eventually(async () => ((await owned(second.ops)).length === 4 ? true : undefined), {
      what: 'the survivor to report all four partitions as its own',
    });
    await expectStoredExactlyOnce(model, [...before, ...after]);
    expect(await second.worker.stop('SIGTERM')).toBe(0);
  });
});
