import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Connection } from 'mongoose';
import { connectMongo, ensureQueryIndexes, logModel, type LogDocument } from '@activity-logger/shared';
import { testServers, uniqueName } from '../../../test/support/isolation';
import { readTopic, testKafka } from '../../../test/support/kafka';
import {
  createTestProducer,
  createWorkerTopics,
  dropDatabase,
  produceEvents,
  startTestWorker,
  testEvents,
  waitForCommitsAtHighWatermark,
  type TestWorker,
} from './harness';

/**
 * Issue 6 (1): a backlog with thousands of poison messages under one key. A partition batch of
 * ~1 MB of poison becomes more than 1 MB of dead letters (each letter is the original plus
 * headers), which one produce request cannot carry; the worker must still get every letter out.
 */
describe('a burst of poison messages in a backlog', () => {
  const topics: string[] = [];
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let connection: Connection | undefined;
  let worker: TestWorker | undefined;

  beforeAll(async () => {
    kafka = testKafka('poison-burst-test');
    admin = kafka.admin();
    producer = createTestProducer(kafka);
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterAll(async () => {
    await worker?.stop();
    await producer.disconnect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
    await dropDatabase(connection);
  });

  it('dead-letters every poison message, stores every valid event and commits to the end offsets', async () => {
    const { topic, dlqTopic, groupId } = await createWorkerTopics(admin, 'poison-burst', topics);
    connection = await connectMongo({ uri: testServers().mongoUri, dbName: uniqueName('poison-burst') });
    const model = logModel(connection);
    await ensureQueryIndexes(model);

    // Schema-invalid (an unknown wire version) but a realistic size: ~600 bytes each.
    const poisonCount = 3000;
    const filler = 'x'.repeat(480);
    const poison = Array.from({ length: poisonCount }, (_, i) => ({
      key: 'one-noisy-user',
      value: JSON.stringify({ v: 99, eventId: `poison-${i}`, userId: 'one-noisy-user', action: 'A', filler }),
      headers: { 'trace-id': `trace-poison-${i}` },
    }));
    for (let start = 0; start < poison.length; start += 500) {
      await producer.send({ topic, acks: -1, messages: poison.slice(start, start + 500) });
    }
    const valid = testEvents(300, 'burst-valid');
    await produceEvents(producer, topic, valid);

    worker = await startTestWorker({ kafka, model, topic, dlqTopic, groupId });
    await waitForCommitsAtHighWatermark(admin, groupId, topic, 60_000);

    // Counted by the client's own marker (metadata.i), not by the store's unique key.
    const stored = await model.collection.find<LogDocument>({}).toArray();
    const markers = stored.map((doc) => (doc.metadata as { i: number }).i);
    expect(markers.length).toBe(300);
    expect(new Set(markers).size).toBe(300);

    const letters = await readTopic(kafka, dlqTopic, poisonCount);
    const offsets = letters.map((letter) => Number(letter.headers['dlq-source-offset']));
    expect(letters.length).toBe(poisonCount);
    expect(new Set(offsets).size).toBe(poisonCount);
    expect(letters.every((letter) => letter.headers['dlq-reason'] === 'schema_invalid')).toBe(true);
    expect(letters[0]?.value?.toString()).toBe(poison[Number(letters[0]?.headers['dlq-source-offset'])]?.value);
  });
});
