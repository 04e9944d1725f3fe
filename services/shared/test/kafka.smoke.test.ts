import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { ensureTopics } from '../src';
import { eventually } from '../../../test/support/eventually';
import { uniqueName } from '../../../test/support/isolation';
import { testKafka } from '../../../test/support/kafka';

describe('Kafka (real broker)', () => {
  const topic = uniqueName('smoke');
  const groupId = uniqueName('smoke-group');
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let consumer: Consumer;

  beforeAll(async () => {
    kafka = testKafka('smoke-test');
    admin = kafka.admin();
    producer = kafka.producer();
    consumer = kafka.consumer({ groupId });
    await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
  });

  afterAll(async () => {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('creates a topic with several partitions, produces with acks=all and reads everything back in a group that commits', async () => {
    await ensureTopics(admin, [{ topic, numPartitions: 3 }]);
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    expect(metadata?.partitions).toHaveLength(3);

    const sent = Array.from({ length: 60 }, (_, i) => ({ key: `user-${i % 7}`, value: `message-${i}` }));
    const acks = await producer.send({ topic, acks: -1, messages: sent });
    expect(acks.every((ack) => ack.errorCode === 0)).toBe(true);
    // Keys spread over the partitions, so the group really reads from more than one.
    expect(new Set(acks.map((ack) => ack.partition)).size).toBeGreaterThan(1);

    const received: string[] = [];
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        received.push(message.value?.toString() ?? '');
        await consumer.commitOffsets([{ topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      },
    });

    await eventually(() => (received.length >= sent.length ? true : undefined), { what: 'all 60 messages' });
    expect(received.sort()).toEqual(sent.map((m) => m.value).sort());

    // Every partition's committed offset reaches its high watermark (empty partitions stay at -1/0).
    const highWatermarks = new Map(
      (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)] as const),
    );
    await eventually(
      async () => {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const behind = offsets?.partitions.filter(
          (p) => Math.max(0, Number(p.offset)) !== highWatermarks.get(p.partition),
        );
        return behind?.length === 0 ? true : undefined;
      },
      { what: 'committed offsets to reach the high watermarks' },
    );
    expect([...highWatermarks.values()].reduce((a, b) => a + b, 0)).toBe(60);
  });

  it('lets several processes create the same new topics at the same moment and use them at once', async () => {
    const others = [testKafka('race-a').admin(), testKafka('race-b').admin(), testKafka('race-c').admin()];
    await Promise.all(others.map((other) => other.connect()));
    const raced: string[] = [];
    try {
      for (let round = 0; round < 3; round += 1) {
        const name = uniqueName('race');
        raced.push(name, `${name}.dlq`);
        const wanted = [
          { topic: name, numPartitions: 6 },
          { topic: `${name}.dlq`, numPartitions: 6 },
        ];
        // Every one of them sees the topics missing and asks to create them.
        await Promise.all(others.map((other) => ensureTopics(other, wanted)));
        // Right away, with no retry: every partition already has a leader.
        const acks = await producer.send({
          topic: name,
          acks: -1,
          messages: Array.from({ length: 30 }, (_, i) => ({ key: `k-${i}`, value: 'v' })),
        });
        expect(new Set(acks.map((ack) => ack.partition)).size).toBeGreaterThan(1);
        expect(acks.every((ack) => ack.errorCode === 0)).toBe(true);
      }
    } finally {
      await admin.deleteTopics({ topics: raced }).catch(() => undefined);
      await Promise.all(others.map((other) => other.disconnect()));
    }
  });
});
