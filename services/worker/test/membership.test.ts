import type { Admin, Kafka, Producer } from 'kafkajs';
import { createLogConsumer, type LogConsumer } from '../src/consumer';
import { createWorkerMetrics } from '../src/metrics';
import { createProgressTracker } from '../src/progress';
import { eventually } from '../../../test/support/eventually';
import { uniqueName } from '../../../test/support/isolation';
import { silentLogger, testKafka } from '../../../test/support/kafka';
import { committedTotal, createTestProducer, createTopics } from './harness';

/**
 * A member whose session expires in the middle of a batch (a long GC pause, a paused broker) is
 * told so by the broker when it commits. It must join the group again and carry on — not crash
 * and take the worker down (found by pausing a broker for 90 s under load).
 */
describe('a worker that lost its group membership during a batch', () => {
  const topic = uniqueName('member-lost');
  const groupId = uniqueName('member-lost-group');
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let consumer: LogConsumer | undefined;

  beforeAll(async () => {
    kafka = testKafka('member-lost-test');
    admin = kafka.admin();
    producer = createTestProducer(kafka);
    await Promise.all([admin.connect(), producer.connect()]);
    await createTopics(admin, [topic], 1);
  });

  afterAll(async () => {
    await consumer?.stop();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('joins the group again and commits everything, without a fatal crash', async () => {
    const progress = createProgressTracker();
    const fatal: Error[] = [];
    let calls = 0;
    consumer = createLogConsumer({
      kafka,
      logger: silentLogger,
      metrics: createWorkerMetrics({ progress, defaultMetrics: false }),
      progress,
      watermark: { record: () => undefined, flush: () => Promise.resolve() },
      config: {
        topic,
        groupId,
        partitionsConsumedConcurrently: 1,
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 1000,
        retry: { initialMs: 100, maxMs: 1000 },
      },
      persist: (messages) => {
        calls += 1;
        if (calls === 1) {
          // Blocks the event loop past the session: no heartbeat can go out, as in a long GC pause.
          const until = Date.now() + 9000;
          while (Date.now() < until);
        }
        return Promise.resolve(
          messages.map((message) => ({ offset: message.offset, kind: 'stored' as const, receivedAt: new Date() })),
        );
      },
      onFatal: (error) => fatal.push(error),
    });
    await consumer.start();
    await eventually(() => (consumer?.isReady() === true ? true : undefined), { what: 'the consumer to join' });

    await producer.send({ topic, acks: -1, messages: [{ value: 'first' }] });
    await eventually(() => (calls >= 1 ? true : undefined), { what: 'the first batch' });
    await producer.send({ topic, acks: -1, messages: [{ value: 'second' }] });

    await eventually(async () => ((await committedTotal(admin, groupId, topic)) === 2 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'both messages committed after the member rejoined',
    });
    expect(fatal.map((error) => error.message)).toEqual([]);
    expect(calls).toBeGreaterThanOrEqual(2); // the first batch was redelivered, not lost
  });
});
