import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { mongo } from 'mongoose';
import { LOGS_COLLECTION } from '@activity-logger/shared';
import { readTopic } from '../support/kafka';
import { delay } from './stack';

/** The suite's own Kafka client: silent, because the broker it watches is paused and killed on purpose. */
export function observerKafka(brokers: string): Kafka {
  return new Kafka({
    clientId: 'chaos-observer',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
  });
}

export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Per partition: the group's committed offset and the log end offset, at one moment. */
export interface OffsetSample {
  readonly at: number;
  readonly committed: number[];
  readonly end: number[];
}

export async function sampleOffsets(admin: Admin, topic: string, groupId: string): Promise<OffsetSample> {
  const [groups, ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics: [topic] }),
    admin.fetchTopicOffsets(topic),
  ]);
  const end: number[] = [];
  for (const { partition, high } of ends) end[partition] = Number(high);
  const committed = end.map(() => 0);
  // A partition the group never committed reads -1; its messages start at 0 on a topic of the run.
  for (const { partition, offset } of groups[0]?.partitions ?? []) committed[partition] = Math.max(0, Number(offset));
  return { at: Date.now(), committed, end };
}

/**
 * Watches the group's committed offsets twice a second. The worker commits a batch only after
 * the store acknowledged its writes (or the DLQ its letters), so a committed offset moving is
 * "stored" as seen from Kafka, at a cost that does not load the store under test (a count on
 * FerretDB/SQLite scans the collection). Whether what was acknowledged is really stored, once,
 * is decided by reading the store itself at the end (see `readStore`).
 */
export class ProgressMonitor {
  readonly samples: OffsetSample[] = [];
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly admin: Admin,
    private readonly topic: string,
    private readonly groupId: string,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const started = Date.now();
        const sample = await withTimeout(sampleOffsets(this.admin, this.topic, this.groupId), 3000, 'offsets').catch(
          () => undefined,
        );
        if (sample !== undefined) this.samples.push(sample);
        await delay(Math.max(0, 500 - (Date.now() - started)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /**
   * How long the pipeline stayed stuck because of one fault, in seconds after the fault was
   * removed (`clearedAt`): the longest stall of any partition that began before `until` (the next
   * fault), followed to its end even past `until` — three kills in a row that keep a partition
   * stuck throughout count as one long stall for the first kill. A stall is a stretch in which the
   * partition had messages waiting and its committed offset did not move; its part before
   * `clearedAt` is the fault itself (a paused broker) and is not counted. `worst` is null when a
   * partition was still stuck when the monitor stopped. `first` is the time from `clearedAt` to
   * the first commit on any partition.
   */
  recovery(fault: { at: number; clearedAt: number }, until = Infinity): { first: number | null; worst: number | null } {
    let startIndex = 0;
    this.samples.forEach((sample, index) => {
      if (sample.at <= fault.at) startIndex = index;
    });
    const start = this.samples[startIndex];
    if (start === undefined) return { first: null, worst: null };
    let worst: number | null = 0;
    for (let partition = 0; partition < start.committed.length && worst !== null; partition += 1) {
      let value = start.committed[partition] ?? 0;
      let since = start.at;
      let stuck = false;
      for (const sample of this.samples.slice(startIndex + 1)) {
        if (since >= until) break; // later stalls belong to the next fault
        const committed = sample.committed[partition] ?? 0;
        // Stuck: messages waiting and no progress since the last sample.
        stuck = committed === value && (sample.end[partition] ?? 0) > committed;
        if (committed !== value) {
          if (sample.at > fault.clearedAt) worst = Math.max(worst, sample.at - Math.max(since, fault.clearedAt));
          value = committed;
          since = sample.at;
        } else if (!stuck) {
          since = sample.at; // nothing waiting: idle, not stuck
        }
      }
      if (stuck && since < until) worst = null;
    }
    return { first: this.firstCommitAfter(fault), worst: worst === null ? null : Math.max(0, worst) / 1000 };
  }

  private firstCommitAfter(fault: { at: number; clearedAt: number }): number | null {
    const total = (sample: OffsetSample) => sample.committed.reduce((sum, offset) => sum + offset, 0);
    // The baseline is the frozen state: a sample taken during the fault, or else (a kill, whose
    // victim may have committed just before dying) the first one after it.
    const during = [...this.samples].reverse().find((s) => s.at <= fault.clearedAt && s.at > fault.at);
    const base = during ?? this.samples.find((s) => s.at > fault.clearedAt);
    if (base === undefined) return null;
    const moved = this.samples.find((s) => s.at > base.at && s.at > fault.clearedAt && total(s) > total(base));
    return moved === undefined ? null : (moved.at - fault.clearedAt) / 1000;
  }
}

/** Waits until the group has committed every partition up to its end offset; false at the deadline. */
export async function awaitCommittedAtEnd(
  admin: Admin,
  topic: string,
  groupId: string,
  timeoutMs: number,
): Promise<{ ok: boolean; last?: OffsetSample }> {
  const deadline = Date.now() + timeoutMs;
  let last: OffsetSample | undefined;
  while (Date.now() < deadline) {
    last = await withTimeout(sampleOffsets(admin, topic, groupId), 5000, 'offsets').catch(() => last);
    if (last !== undefined && last.end.every((end, partition) => (last?.committed[partition] ?? -1) >= end)) {
      return { ok: true, last };
    }
    await delay(500);
  }
  return last === undefined ? { ok: false } : { ok: false, last };
}

/** How many stored documents carry each client sequence number (`metadata.chaosSeq`) of this run. */
export async function readStore(db: mongo.Db, runTag: string): Promise<Map<number, number>> {
  const docs = await db
    .collection(LOGS_COLLECTION)
    .find({}, { projection: { 'metadata.chaosSeq': 1, 'metadata.chaosRun': 1 }, maxTimeMS: 60_000 })
    .toArray();
  const counts = new Map<number, number>();
  for (const doc of docs) {
    const metadata = doc.metadata as { chaosSeq?: unknown; chaosRun?: unknown } | undefined;
    if (metadata?.chaosRun !== runTag || typeof metadata.chaosSeq !== 'number') continue;
    counts.set(metadata.chaosSeq, (counts.get(metadata.chaosSeq) ?? 0) + 1);
  }
  return counts;
}

export interface DeadLetterRecord {
  readonly key: string | null;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** Every record of `topic` from the beginning up to its end offsets now (bounded by `timeoutMs`). */
export async function readWholeTopic(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  timeoutMs = 60_000,
): Promise<DeadLetterRecord[]> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) return [];
  const ends = await admin.fetchTopicOffsets(topic);
  const expected = ends.reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0);
  if (expected === 0) return [];
  const records = await readTopic(kafka, topic, expected, { timeoutMs, partial: true });
  return records.map((record) => ({ ...record, value: record.value?.toString() ?? '' }));
}
