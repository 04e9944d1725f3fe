import { KafkaJSNumberOfRetriesExceeded, type IHeaders, type Kafka, type ProducerRecord } from 'kafkajs';
import { recordBytes } from '@activity-logger/shared';
import { createKafkaDeadLetterPublisher, toDeadLetterRecord, type DeadLetter } from './dead-letters';

describe('toDeadLetterRecord', () => {
  const message = {
    topic: 'activity-logs',
    partition: 4,
    offset: '1234',
    key: Buffer.from('user-1'),
    value: Buffer.from([0xff, 0x00, 0x7b]),
    headers: { 'trace-id': Buffer.from('trace-1'), 'content-type': 'application/json' },
  };

  it('keeps the original key, value bytes and headers and adds where and why it failed', () => {
    const record = toDeadLetterRecord(
      { message, reason: 'unparseable', detail: 'not JSON' },
      new Date('2026-01-02T03:04:05.000Z'),
    );

    expect(record.key).toBe(message.key);
    expect(record.value).toBe(message.value);
    expect(record.headers).toEqual({
      'trace-id': Buffer.from('trace-1'),
      'content-type': 'application/json',
      'dlq-reason': 'unparseable',
      'dlq-detail': 'not JSON',
      'dlq-source-topic': 'activity-logs',
      'dlq-source-partition': '4',
      'dlq-source-offset': '1234',
      'dlq-failed-at': '2026-01-02T03:04:05.000Z',
    });
  });

  it('truncates a long detail to about a kilobyte', () => {
    const record = toDeadLetterRecord({ message, reason: 'schema_invalid', detail: 'x'.repeat(5000) }, new Date());
    const detail = String(record.headers['dlq-detail']);
    expect(detail.length).toBeLessThanOrEqual(1001);
    expect(detail.endsWith('…')).toBe(true);
  });
});

describe('the Kafka dead letter publisher', () => {
  /** A broker that refuses any produce request above `limit` bytes, as message.max.bytes does. */
  function brokerWithLimit(limit: number) {
    const sent: { key: Buffer | null; value: Buffer | null; headers: IHeaders }[][] = [];
    let attempts = 0;
    const tooLarge = Object.assign(new Error('The request included a message larger than the max message size'), {
      type: 'MESSAGE_TOO_LARGE',
    });
    const producer = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      send: ({ messages }: ProducerRecord) => {
        attempts += 1;
        const records = messages as { key: Buffer | null; value: Buffer | null; headers: IHeaders }[];
        const bytes = records.reduce((sum, record) => sum + recordBytes(record), 0);
        if (bytes > limit)
          return Promise.reject(new KafkaJSNumberOfRetriesExceeded(tooLarge, { retryCount: 0, retryTime: 0 }));
        sent.push(records);
        return Promise.resolve([]);
      },
    };
    const kafka = { producer: () => producer } as unknown as Kafka;
    return { kafka, sent, attempts: () => attempts };
  }

  const letter = (offset: number, valueBytes: number): DeadLetter => ({
    message: {
      topic: 'activity-logs',
      partition: 0,
      offset: String(offset),
      key: Buffer.from('noisy-user'),
      value: Buffer.alloc(valueBytes, 'x'),
      headers: { 'trace-id': Buffer.from(`trace-${offset}`), 'big-header': Buffer.alloc(2000, 'h') },
    },
    reason: 'schema_invalid',
    detail: 'v: Invalid input',
  });

  it('sends letters in order, in requests below the byte cap', async () => {
    const broker = brokerWithLimit(1_000_000);
    const publisher = createKafkaDeadLetterPublisher({
      kafka: broker.kafka,
      config: { topic: 'dlq', maxBatchBytes: 50_000 },
    });
    const letters = Array.from({ length: 200 }, (_, i) => letter(i, 600));

    await publisher.publish(letters);

    expect(broker.sent.length).toBeGreaterThan(1);
    for (const request of broker.sent) {
      expect(request.reduce((sum, record) => sum + recordBytes(record), 0)).toBeLessThanOrEqual(50_000);
    }
    const offsets = broker.sent.flat().map((record) => String(record.headers['dlq-source-offset']));
    expect(offsets).toEqual(letters.map((l) => l.message.offset));
  });

  it('halves a request the broker still finds too large, down to what it takes', async () => {
    const broker = brokerWithLimit(20_000);
    const publisher = createKafkaDeadLetterPublisher({
      kafka: broker.kafka,
      config: { topic: 'dlq', maxBatchBytes: 900_000 },
    });

    await publisher.publish(Array.from({ length: 100 }, (_, i) => letter(i, 600)));

    expect(broker.sent.flat()).toHaveLength(100);
    expect(broker.sent.flat().every((record) => record.value?.length === 600)).toBe(true);
  });

  it('cuts a letter too large for the broker down to its key, DLQ headers and part of its value', async () => {
    const broker = brokerWithLimit(30_000);
    const publisher = createKafkaDeadLetterPublisher({
      kafka: broker.kafka,
      config: { topic: 'dlq', maxBatchBytes: 900_000 },
    });

    await publisher.publish([letter(0, 500), letter(1, 2_000_000), letter(2, 500)]);

    const records = broker.sent.flat();
    expect(records.map((record) => String(record.headers['dlq-source-offset']))).toEqual(['0', '1', '2']);
    const cut = records[1];
    expect(cut?.key?.toString()).toBe('noisy-user');
    expect(cut?.headers['dlq-truncated']).toBe('2000000');
    expect(cut?.headers['dlq-reason']).toBe('schema_invalid');
    expect(cut?.headers['trace-id']).toEqual(Buffer.from('trace-1'));
    expect(cut?.headers['big-header']).toBeUndefined();
    expect(cut?.value?.length ?? 0).toBeLessThan(30_000);
    expect(records[0]?.headers['big-header']).toBeDefined();
  });

  it('caps the key and headers too when even the headers alone are too large', async () => {
    const broker = brokerWithLimit(5000);
    const publisher = createKafkaDeadLetterPublisher({
      kafka: broker.kafka,
      config: { topic: 'dlq', maxBatchBytes: 900_000 },
    });
    const huge = letter(7, 100);
    const withHugeTrace = {
      ...huge,
      message: { ...huge.message, key: Buffer.alloc(50_000, 'k'), headers: { 'trace-id': 't'.repeat(50_000) } },
    };

    await publisher.publish([withHugeTrace]);

    const [record] = broker.sent.flat();
    expect(record?.headers['dlq-source-offset']).toBe('7');
    expect(record?.headers['dlq-truncated-key']).toBe('50000');
    expect(record?.key?.length).toBe(256);
    expect(record?.value).toBeNull();
  });

  it('reports any other failure as retriable, without splitting', async () => {
    const producer = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      send: () => Promise.reject(new Error('Connection timeout')),
    };
    const publisher = createKafkaDeadLetterPublisher({
      kafka: { producer: () => producer } as unknown as Kafka,
      config: { topic: 'dlq', maxBatchBytes: 900_000 },
    });

    await expect(publisher.publish([letter(0, 10)])).rejects.toMatchObject({
      code: 'DLQ_UNAVAILABLE',
      retriable: true,
    });
  });
});
