import type { Admin } from 'kafkajs';
import { completeThrough, withTimeLimit, type PartitionProgressDocument } from '@activity-logger/shared';

/** Up to when the whole log is complete (see completeThrough in shared), or null when unknown. */
export interface WatermarkReader {
  /** Never rejects: a watermark that cannot be read is null, and the answer goes out without it. */
  completeThrough(): Promise<Date | null>;
}

export interface WatermarkSources {
  /** The progress records of the topic's partitions. */
  readProgress(): Promise<ReadonlyArray<Pick<PartitionProgressDocument, 'partition' | 'caughtUpThrough'>>>;
  /** How many partitions the topic has (a partition without a record makes the watermark unknown). */
  partitionCount(): Promise<number>;
}

/**
 * Reads the watermark at most once per `cacheMs` (≈ 300 ms), shared by every request meanwhile,
 * so a GET costs no store round trip most of the time. A cached value can only be older than
 * the truth (the watermark only moves forward), never wrong. Each read is bounded by `timeoutMs`.
 */
export function createWatermarkReader(
  sources: WatermarkSources,
  options: { cacheMs?: number; timeoutMs?: number; now?: () => number } = {},
): WatermarkReader {
  const cacheMs = options.cacheMs ?? 300;
  const timeoutMs = options.timeoutMs ?? 1000;
  const now = options.now ?? Date.now;
  let cached: { value: Date | null; at: number } | undefined;
  let reading: Promise<Date | null> | undefined;

  async function read(): Promise<Date | null> {
    const started = now();
    // Started inside a promise: a source that throws at once (the store not reached yet) is a
    // null watermark like any other failure, never an error of the request that asked.
    const work = Promise.resolve()
      .then(() => Promise.all([sources.readProgress(), sources.partitionCount()]))
      .then(
        ([progress, count]) => completeThrough(progress, count) ?? null,
        () => null,
      );
    const value = await withTimeLimit(work, timeoutMs, () => null);
    cached = { value, at: started };
    return value;
  }

  return {
    completeThrough() {
      if (cached !== undefined && now() - cached.at < cacheMs) return Promise.resolve(cached.value);
      reading ??= read().finally(() => {
        reading = undefined;
      });
      return reading;
    },
  };
}

/**
 * The topic's partition count from Kafka's metadata, asked at most once per `cacheMs`; the last
 * good answer stands while the broker is away. Kept short: for as long as a partition added to the
 * topic is not counted, the watermark would ignore it (and claim completeness over events waiting
 * there). The admin client is the one the API keeps connected.
 */
export function kafkaPartitionCount(admin: Admin, topic: string, cacheMs = 5_000): () => Promise<number> {
  let known: { count: number; at: number } | undefined;
  return async () => {
    if (known !== undefined && Date.now() - known.at < cacheMs) return known.count;
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const count = topics.find((t) => t.name === topic)?.partitions.length;
      if (count === undefined || count === 0) throw new Error(`topic ${topic} has no partitions in the metadata`);
      known = { count, at: Date.now() };
      return count;
    } catch (error) {
      if (known !== undefined) return known.count;
      throw error;
    }
  };
}
