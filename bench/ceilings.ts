import type { Kafka, Message } from 'kafkajs';
import type { Connection } from 'mongoose';
import { PRODUCER_DEFAULTS, QUERY_INDEXES, toLogDocument } from '@activity-logger/shared';
import { activityEvent, kafkaMessage } from './events';

/** Runs `task(i)` for i in [0, total), `concurrency` at a time. */
export async function runPool(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

export interface Throughput {
  readonly count: number;
  readonly seconds: number;
  readonly perSecond: number;
}

function throughput(count: number, startedAt: number): Throughput {
  const seconds = (performance.now() - startedAt) / 1000;
  return { count, seconds, perSecond: count / seconds };
}

/**
 * The broker's ceiling for batched ingest: a plain kafkajs producer sending the messages the
 * API's publisher would send (same key, value and headers, same partitioner), `perSend` to a
 * request, `concurrency` requests in flight, acks=all. Messages are built before the clock starts.
 */
export async function rawProducer(
  kafka: Kafka,
  topic: string,
  options: { messages: number; perSend: number; concurrency: number; onProgress: (done: number) => void },
): Promise<Throughput> {
  const sends = Math.ceil(options.messages / options.perSend);
  const batches: Message[][] = Array.from({ length: sends }, (_, s) =>
    Array.from({ length: options.perSend }, (_, i) => kafkaMessage(activityEvent(s * options.perSend + i, 'bench'))),
  );
  const producer = kafka.producer(PRODUCER_DEFAULTS);
  await producer.connect();
  try {
    // One warm-up send: metadata and connections are not part of the rate.
    await producer.send({ topic, acks: -1, messages: batches[0]!.slice(0, 1) });
    let done = 0;
    const started = performance.now();
    await runPool(sends, options.concurrency, async (s) => {
      await producer.send({ topic, acks: -1, messages: batches[s]! });
      done += options.perSend;
      options.onProgress(done);
    });
    return throughput(sends * options.perSend, started);
  } finally {
    await producer.disconnect();
  }
}

/**
 * The store's ceiling for the worker: the driver's unordered insertMany of the documents the
 * worker would write, into a collection with the same query indexes, `perWrite` documents a
 * write and `concurrency` writes in flight (the worker's partitions consumed concurrently).
 */
export async function rawInsertMany(
  connection: Connection,
  collectionName: string,
  options: { documents: number; perWrite: number; concurrency: number; onProgress: (done: number) => void },
): Promise<Throughput> {
  const db = connection.db;
  if (db === undefined) throw new Error('not connected');
  const collection = db.collection<{ _id: string }>(collectionName);
  await db.createCollection(collectionName);
  for (const { key, name } of QUERY_INDEXES) await collection.createIndex(key, { name });
  const writes = Math.ceil(options.documents / options.perWrite);
  const batches = Array.from({ length: writes }, (_, w) =>
    Array.from({ length: options.perWrite }, (_, i) => toLogDocument(activityEvent(w * options.perWrite + i, 'bench'))),
  );
  let done = 0;
  const started = performance.now();
  await runPool(writes, options.concurrency, async (w) => {
    await collection.insertMany(batches[w]!, { ordered: false });
    done += options.perWrite;
    options.onProgress(done);
  });
  return throughput(writes * options.perWrite, started);
}
