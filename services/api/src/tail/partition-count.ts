import type { Admin } from 'kafkajs';

/**
 * The topic's partition count from the broker, asked at most once a minute (partitions are only
 * ever added, and rarely); the last good answer stands while the broker is away.
 */
export function topicPartitionCount(admin: Admin, topic: string, refreshMs = 60_000): () => Promise<number> {
  let known: { count: number; at: number } | undefined;
  return async () => {
    if (known !== undefined && Date.now() - known.at < refreshMs) return known.count;
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const count = metadata.topics[0]?.partitions.length ?? 0;
      known = { count, at: Date.now() };
      return count;
    } catch (error) {
      if (known !== undefined) return known.count;
      throw error;
    }
  };
}
