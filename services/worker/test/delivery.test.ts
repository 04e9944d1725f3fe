import { completeEvent, deadLetterModel, erasureModel, HEADERS, partitionProgressModel } from '@activity-logger/shared';
import { createMongoDeadLetterStore } from '../src/dead-letter-store';
import { createLagMonitor } from '../src/lag-monitor';
import { createProgressTracker } from '../src/progress';
import { silentLogger } from '../../../test/support/kafka';
import {
  produceEvents,
  startTestWorker,
  testEvents,
  waitForCommitsAtHighWatermark,
  workerTestBed,
  type TestWorker,
} from './harness';

/**
 * What the worker records for issue 10 (placements, dead letters in the store, partition
 * progress, erasures), against the real broker and store.
 */
describe('worker delivery records', () => {
  const { kafka, admin, producer, setUp } = workerTestBed('worker-delivery-test');
  let worker: TestWorker | undefined;

  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  it('stores where each event was read from, keeps dead letters in the store, and records progress', async () => {
    const { topic, dlqTopic, groupId, model, connection } = await setUp('placement');
    const events = testEvents(120, 'placement');
    const before = new Date();
    await produceEvents(producer, topic, events);
    const poison = { v: 1, eventId: 'poison-1', userId: 'user-p', traceId: 'trace-poison' }; // no action
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'user-p', value: JSON.stringify(poison), headers: { [HEADERS.eventId]: 'poison-1' } }],
    });
    worker = await startTestWorker({ kafka, model, topic, dlqTopic, groupId });
    await waitForCommitsAtHighWatermark(admin, groupId, topic);
    await worker.watermark.flush();

    // Every offset of every partition is either a stored event or the one dead letter.
    const marks = await admin.fetchTopicOffsets(topic);
    const stored = await model.collection.find({}).toArray();
    expect(stored).toHaveLength(120);
    const letters = await deadLetterModel(connection).collection.find({}).toArray();
    expect(letters).toHaveLength(1);
    const seen = [...stored, ...letters].map((doc) => `${String(doc.partition)}:${String(doc.offset)}`).sort();
    const expected = marks.flatMap((m) => Array.from({ length: Number(m.high) }, (_, o) => `${m.partition}:${o}`));
    expect(seen).toEqual(expected.sort());
    for (const doc of stored) {
      expect(doc.storedAt).toBeInstanceOf(Date);
      expect((doc.storedAt as Date).getTime()).toBeGreaterThanOrEqual(before.getTime());
    }
    expect(letters[0]).toMatchObject({
      reason: 'schema_invalid',
      eventId: 'poison-1',
      userId: 'user-p',
      traceId: 'trace-poison',
      state: 'open',
    });
    expect(Buffer.from((letters[0]?.value as { buffer: Uint8Array }).buffer).toString()).toBe(JSON.stringify(poison));

    // Progress: committed up to each high watermark; the last batch of each partition caught up.
    const progress = await partitionProgressModel(connection).collection.find({}).toArray();
    for (const mark of marks.filter((m) => Number(m.high) > 0)) {
      const record = progress.find((p) => p.partition === mark.partition);
      expect(record?.committedOffset).toBe(Number(mark.high));
      expect(record?.caughtUpThrough).toBeInstanceOf(Date);
    }

    // Idle partitions (every one, now) move forward on a lag check, and never backwards.
    const tracker = createProgressTracker();
    tracker.assigned(topic, [0, 1, 2]);
    const monitor = createLagMonitor({
      admin,
      groupId,
      topic,
      progress: tracker,
      watermark: worker.watermark,
      intervalMs: 60_000,
      logger: silentLogger,
    });
    const checkStart = new Date();
    await monitor.checkOnce();
    await worker.watermark.flush();
    const after = await partitionProgressModel(connection).collection.find({}).toArray();
    expect(after.map((p) => Number(p.partition)).sort()).toEqual([0, 1, 2]);
    for (const record of after) {
      expect((record.caughtUpThrough as Date).getTime()).toBeGreaterThanOrEqual(checkStart.getTime());
    }
    worker.watermark.record({ topic, partition: 0, committedOffset: 0, caughtUpThrough: new Date(0) });
    await worker.watermark.flush();
    const zero = await partitionProgressModel(connection).collection.findOne({ partition: 0 });
    expect(zero?.caughtUpThrough).toEqual(after.find((p) => p.partition === 0)?.caughtUpThrough);
    expect(zero?.committedOffset).toBe(after.find((p) => p.partition === 0)?.committedOffset);
  });

  it('never reopens a dead letter that was resolved when a retried batch writes it again', async () => {
    const { connection } = await setUp('letters');
    const store = createMongoDeadLetterStore(deadLetterModel(connection), { writeTimeoutMs: 5000 });
    const letter = {
      message: { topic: 't', partition: 0, offset: '7', key: null, value: Buffer.from('x'), headers: {} },
      reason: 'unparseable' as const,
      detail: 'not JSON',
    };
    await store.record([letter], new Date());
    const letters = deadLetterModel(connection).collection;
    await letters.updateOne({ _id: 't:0:7' as never }, { $set: { state: 'replayed' } });
    await store.record([letter], new Date());
    const docs = await letters.find({}).toArray();
    expect(docs.map((d) => [String(d._id), String(d.state)])).toEqual([['t:0:7', 'replayed']]);
  });

  it('does not store events of a user erased after they were received; later ones and others are stored', async () => {
    const { topic, dlqTopic, groupId, model, connection } = await setUp('erasure');
    const receivedBefore = new Date(Date.now() - 60_000);
    const erasedAt = new Date(Date.now() - 30_000);
    const receivedAfter = new Date();
    const make = (userId: string, receivedAt: Date, n: number) =>
      completeEvent(
        { userId, action: 'Page_View' },
        { receivedAt, traceId: `trace-${userId}-${n}`, mintId: () => `${userId}-${receivedAt.getTime()}-${n}` },
      );
    const erasedOnes = Array.from({ length: 30 }, (_, n) => make('erased-user', receivedBefore, n));
    const laterOnes = Array.from({ length: 5 }, (_, n) => make('erased-user', receivedAfter, n));
    const others = Array.from({ length: 30 }, (_, n) => make('other-user', receivedBefore, n));
    await erasureModel(connection).collection.insertOne({
      _id: 'erasure-1' as never,
      userId: 'erased-user',
      requestedBy: 'admin',
      requestedAt: erasedAt,
      deleted: 0,
    });
    await produceEvents(producer, topic, [...erasedOnes, ...others, ...laterOnes]);
    worker = await startTestWorker({ kafka, model, topic, dlqTopic, groupId });
    await waitForCommitsAtHighWatermark(admin, groupId, topic);

    const stored = await model.collection.find({}, { projection: { userId: 1, receivedAt: 1 } }).toArray();
    const byUser = (userId: string, at: Date) =>
      stored.filter((d) => d.userId === userId && d.receivedAt.getTime() === at.getTime()).length;
    expect(byUser('erased-user', receivedBefore)).toBe(0);
    expect(byUser('erased-user', receivedAfter)).toBe(5);
    expect(byUser('other-user', receivedBefore)).toBe(30);
    const metrics = await worker.metrics.registry.getSingleMetric('worker_events_erased_total')?.get();
    expect(metrics?.values[0]?.value).toBe(30);
  });
});
