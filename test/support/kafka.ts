import type { Kafka } from 'kafkajs';
import pino, { type Logger } from 'pino';
import { createKafka } from '@activity-logger/shared';
import { eventually } from './eventually';
import { testServers, uniqueName } from './isolation';

/** Quiet unless TEST_LOG_LEVEL asks otherwise (e.g. `TEST_LOG_LEVEL=debug npm test`). */
export const silentLogger: Logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A kafkajs client for the servers the global setup chose. */
export function testKafka(clientId: string): Kafka {
  return createKafka({ brokers: testServers().kafkaBrokers, clientId, ssl: false }, silentLogger);
}

/** Deletes topics a test (or the services it started) created; missing ones are fine. */
export async function deleteTopics(topics: string[]): Promise<void> {
  const admin = testKafka('test-cleanup').admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

export interface ReadRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

/**
 * Reads `count` records of a topic from the beginning with a throwaway consumer group. Past
 * `timeoutMs` it fails, or — with `partial` — returns what it read (the fault suite reports how
 * many letters arrived rather than stopping).
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  count: number,
  options: { timeoutMs?: number; partial?: boolean } = {},
): Promise<ReadRecord[]> {
  const { timeoutMs = 30_000, partial = false } = options;
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 500 });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
        );
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value,
          headers,
        });
        return Promise.resolve();
      },
    });
    await eventually(() => (records.length >= count ? true : undefined), {
      timeoutMs,
      what: `${count} records on ${topic}`,
    }).catch((error: unknown) => {
      if (!partial) throw error;
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}
