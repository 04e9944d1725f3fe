import { encodeEvent, type LogDocument } from '@activity-logger/shared';
import { eventually } from '../../../test/support/eventually';
import {
  committedTotal,
  expectStoredExactlyOnce,
  eventRecord,
  produceEvents,
  startTestWorker,
  storedCount,
  testEvents,
  waitForCommitsAtHighWatermark,
  workerTestBed,
  type TestWorker,
} from './harness';
import { readTopic } from '../../../test/support/kafka';

/** Each test gets its own topic, DLQ topic, group and database; the clients are shared. */
describe('worker consuming from real Kafka into the real store', () => {
  const { kafka, admin, producer, setUp } = workerTestBed('worker-test');
  let worker: TestWorker | undefined;

  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  it('stores a stream of events exactly once with their traceId and commits to the high watermark', async () => {
    const { topic, dlqTopic, groupId, model } = await setUp('batches');
    const events = testEvents(300, 'batches');
    worker = await startTestWorker({ kafka, model, topic, dlqTopic, groupId });

    await produceEvents(producer, topic, events, 60);

    await eventually(async () => ((await storedCount(model)) === events.length ? true : undefined), {
      what: '300 stored events',
    });
    await expectStoredExactlyOnce(model, events);
    const stored = await model.collection.find<LogDocument>({}).toArray();
    expect(new Map(stored.map((doc) => [doc._id, doc.traceId]))).toEqual(
      new Map(events.map((event) => [event.eventId, event.traceId])),
    );
    const sample = stored.find((doc) => doc._id === 'batches-7');
    expect(sample).toMatchObject({ userId: 'user-7', action: 'User_Login', metadata: { i: 7, source: 'batches' } });
    expect(sample?.timestamp).toEqual(events[7]?.timestamp);
    await waitForCommitsAtHighWatermark(admin, groupId, topic);
    expect(await committedTotal(admin, groupId, topic)).toBe(300);
    const metrics = await worker.metrics.registry.getSingleMetric('worker_events_stored_total')?.get();
    expect(metrics?.values[0]?.value).toBe(300);
  });

  it('stores a redelivered event once and counts the redelivery as a duplicate', async () => {
    const { topic, dlqTopic, groupId, model } = await setUp('redelivery');
    const events = testEvents(100, 'redelivery');
    await produceEvents(producer, topic, events);
    await produceEvents(producer, topic, events);
    worker = await startTestWorker({ kafka, model, topic, dlqTopic, groupId });

    await waitForCommitsAtHighWatermark(admin, groupId, topic);

    expect(await committedTotal(admin, groupId, topic)).toBe(200);
    expect(await storedCount(model)).toBe(100);
    await expectStoredExactlyOnce(model, events);
    const duplicates = await worker.metrics.registry.getSingleMetric('worker_events_duplicate_total')?.get();
    expect(duplicates?.values[0]?.value).toBe(100);
  });

  it('sends poison messages to the DLQ with their reason, stores the valid ones around them and moves on', async () => {
    const { topic, dlqTopic, groupId, model } = await setUp('poison');
    const [before, after, third] = testEvents(3, 'poison');
    if (before === undefined || after === undefined || third === undefined) throw new Error('three events expected');
    const storeRefuses = (await model.db.db?.admin().buildInfo())?.ferretdbVersion !== undefined;
    // One key, one partition: the poison sits between the valid events in the same batch.
    const key = 'user-poison';
    const nested = { ...third, metadata: { matrix: [[1, 2]] } };
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { ...eventRecord(before), key },
        { key, value: '{"v":1, not json', headers: { 'trace-id': 'trace-broken' } },
        { key, value: JSON.stringify({ v: 1, eventId: 'bad', userId: '', action: 'x' }) },
        { ...eventRecord(nested), key },
        { ...eventRecord(after), key },
      ],
    });
    worker = await startTestWorker({ kafka, model, topic, dlqTopic, groupId });

    await waitForCommitsAtHighWatermark(admin, groupId, topic);

    const ids = await model.collection.distinct('_id');
    // FerretDB refuses nested arrays (a non-transient, per-document error); MongoDB stores them.
    expect(ids.sort()).toEqual(storeRefuses ? ['poison-0', 'poison-1'] : ['poison-0', 'poison-1', 'poison-2']);
    const letters = await readTopic(kafka, dlqTopic, storeRefuses ? 3 : 2);
    expect(letters.map((letter) => letter.headers['dlq-reason'])).toEqual(
      storeRefuses ? ['unparseable', 'schema_invalid', 'store_rejected'] : ['unparseable', 'schema_invalid'],
    );
    const [unparseable, invalid, rejected] = letters;
    expect(unparseable).toMatchObject({ key, headers: { 'trace-id': 'trace-broken', 'dlq-source-topic': topic } });
    expect(unparseable?.value?.toString()).toBe('{"v":1, not json');
    expect(invalid?.headers['dlq-detail']).toContain('userId');
    expect(Number(invalid?.headers['dlq-source-offset'])).toBe(2);
    if (storeRefuses) {
      expect(rejected?.value?.toString()).toBe(encodeEvent(nested));
      expect(rejected?.headers['dlq-detail']).toMatch(/^code \d+: .*nested arrays/);
    }
  });
});
