import type { Message, Producer, ProducerRecord, RecordMetadata } from 'kafkajs';
import { completeEvent, recordBytes, type ActivityEvent } from '@activity-logger/shared';
import { createKafkaPublisher, PublishError, recordingPartitioner, type PublisherOptions } from './publisher';

/** Users whose id starts with "b" go to partition 1, everyone else to partition 0. */
const partitions = recordingPartitioner(
  () =>
    ({ message }) =>
      String(message.key).startsWith('b') ? 1 : 0,
);

/**
 * The coalescing logic against a scripted producer: when sends happen and with what, and how
 * each request is settled. What Kafka does with the sends is covered by test/ingest.test.ts.
 */
class ScriptedProducer {
  readonly sends: Message[][] = [];
  /** Decides each send's outcome; resolves immediately by default. */
  outcome: (messages: Message[]) => Promise<void> = () => Promise.resolve();
  readonly events = { CONNECT: 'producer.connect', DISCONNECT: 'producer.disconnect' };
  private readonly listeners = new Map<string, () => void>();
  on(event: string, listener: () => void) {
    this.listeners.set(event, listener);
    return () => undefined;
  }
  connect() {
    this.listeners.get(this.events.CONNECT)?.();
    return Promise.resolve();
  }
  /** Each partition's next offset, as a broker would hand them out. */
  private readonly logEnd = new Map<number, number>();
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    this.sends.push(record.messages);
    // As kafkajs does: each message through the partitioner, then one base offset per partition.
    const partitioner = partitions.createPartitioner();
    const perPartition = new Map<number, number>();
    for (const message of record.messages) {
      const partition = partitioner({ topic: record.topic, partitionMetadata: [], message });
      perPartition.set(partition, (perPartition.get(partition) ?? 0) + 1);
    }
    return this.outcome(record.messages).then(() =>
      [...perPartition].map(([partition, count]) => {
        const baseOffset = this.logEnd.get(partition) ?? 0;
        this.logEnd.set(partition, baseOffset + count);
        return { topicName: record.topic, partition, errorCode: 0, baseOffset: String(baseOffset) };
      }),
    );
  }
}

const options: PublisherOptions = {
  topic: 't',
  lingerMs: 5,
  maxBatchBytes: 10_000,
  maxBatchEvents: 100,
  ackTimeoutMs: 1000,
};
const observer = { produced: () => undefined, failed: () => undefined };

let n = 0;
const event = (userId = 'u'): ActivityEvent =>
  completeEvent(
    { userId, action: 'a' },
    { receivedAt: new Date(), traceId: 'trace', mintId: () => `event-${(n += 1)}` },
  );
const soon = () => Date.now() + 2000;

function setUp(overrides: Partial<PublisherOptions> = {}) {
  const producer = new ScriptedProducer();
  const publisher = createKafkaPublisher(
    producer as unknown as Producer,
    { ...options, ...overrides },
    observer,
    partitions,
  );
  return { producer, publisher };
}

describe('createKafkaPublisher', () => {
  it('puts the events of concurrent requests into one send, keyed by userId', async () => {
    const { producer, publisher } = setUp();
    await Promise.all([publisher.publish([event('a')], soon()), publisher.publish([event('b'), event('c')], soon())]);
    expect(producer.sends).toHaveLength(1);
    expect(producer.sends[0]?.map((m) => m.key)).toEqual(['a', 'b', 'c']);
  });

  it('counts headers in a record size', () => {
    const bare = recordBytes({ key: 'u', value: 'v' });
    expect(recordBytes({ key: 'u', value: 'v', headers: { 'trace-id': 'x'.repeat(128) } })).toBeGreaterThan(bare + 136);
  });

  it('splits a request over several sends at the byte cap and resolves once all are acknowledged', async () => {
    const { producer, publisher } = setUp({ maxBatchBytes: 2000 });
    const events = Array.from({ length: 20 }, () => event());
    await publisher.publish(events, soon());
    expect(producer.sends.length).toBeGreaterThan(1);
    expect(producer.sends.flat()).toHaveLength(20);
  });

  it('fails the whole request when a later part of it is not acknowledged', async () => {
    const { producer, publisher } = setUp({ maxBatchEvents: 5 });
    producer.outcome = () =>
      producer.sends.length === 2 ? Promise.reject(new Error('broker gone')) : Promise.resolve();
    const failure = await publisher
      .publish(
        Array.from({ length: 12 }, () => event()),
        soon(),
      )
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PublishError);
    expect((failure as PublishError).code).toBe('PUBLISH_FAILED');
    // The third part is never sent: its request has already failed.
    expect(producer.sends).toHaveLength(2);
  });

  it('answers at the deadline, and drops what of the request was not sent yet', async () => {
    const { producer, publisher } = setUp();
    let release: () => void = () => undefined;
    producer.outcome = () => new Promise<void>((resolve) => (release = resolve));
    const first = publisher.publish([event()], Date.now() + 2000);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the first send is now in flight
    const late = publisher.publish([event('late')], Date.now() + 50);
    await expect(late).rejects.toMatchObject({ code: 'PUBLISH_TIMEOUT' });
    release();
    await first;
    await publisher.close();
    expect(producer.sends.flat().map((m) => m.key)).toEqual(['u']);
  });

  it('halves a send the broker finds too large instead of failing every request in it', async () => {
    const { producer, publisher } = setUp();
    producer.outcome = (messages) =>
      messages.length > 2
        ? Promise.reject(Object.assign(new Error('too large'), { type: 'MESSAGE_TOO_LARGE' }))
        : Promise.resolve();
    await publisher.publish(
      Array.from({ length: 8 }, () => event()),
      soon(),
    );
    expect(producer.sends.map((s) => s.length)).toEqual([8, 4, 2, 2, 4, 2, 2]);
  });

  it('refuses new events once closed, after finishing what was queued', async () => {
    const { producer, publisher } = setUp({ lingerMs: 50 });
    const queued = publisher.publish([event()], soon());
    await publisher.close();
    await queued;
    expect(producer.sends).toHaveLength(1);
    await expect(publisher.publish([event()], soon())).rejects.toMatchObject({ code: 'PUBLISHER_CLOSED' });
  });

  it("resolves each request with its events' partitions and offsets, in the order it gave them", async () => {
    const { publisher } = setUp();
    const [first, second] = await Promise.all([
      publisher.publish([event('a1'), event('b1'), event('a2')], soon()),
      publisher.publish([event('b2'), event('a3')], soon()),
    ]);
    expect(first).toEqual([
      { partition: 0, offset: 0 },
      { partition: 1, offset: 0 },
      { partition: 0, offset: 1 },
    ]);
    expect(second).toEqual([
      { partition: 1, offset: 1 },
      { partition: 0, offset: 2 },
    ]);
    // A later send continues where the broker's offsets are.
    expect(await publisher.publish([event('a4')], soon())).toEqual([{ partition: 0, offset: 3 }]);
  });
});
