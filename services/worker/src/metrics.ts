import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProgressTracker } from './progress';

export interface WorkerMetrics {
  readonly registry: Registry;
  readonly messagesConsumed: Counter;
  readonly eventsStored: Counter;
  readonly eventsDuplicate: Counter;
  readonly eventsErased: Counter;
  readonly progressWriteFailures: Counter;
  readonly eventsDeadLettered: Counter<'reason'>;
  readonly batchSize: Histogram;
  readonly storeWriteSeconds: Histogram;
  readonly storeRetries: Counter;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly secondsSinceCommit: Gauge<'topic' | 'partition'>;
  readonly waitingSeconds: Gauge<'topic' | 'partition'>;
  readonly retentionDeleted: Counter;
}

/**
 * The worker's metrics on a registry of their own (not prom-client's global one), so tests and
 * several workers in one process never collide over metric names.
 */
export function createWorkerMetrics(options: { progress: ProgressTracker; defaultMetrics?: boolean }): WorkerMetrics {
  const { progress } = options;
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // Per-partition gauges are read from the progress tracker at scrape time, for the partitions
  // this member owns now: a revoked partition disappears instead of being counted by two pods.
  const perPartition = (
    read: (p: ReturnType<ProgressTracker['partitions']>[number], now: number) => number | undefined,
  ) =>
    function collect(this: Gauge<'topic' | 'partition'>) {
      this.reset();
      const now = Date.now();
      for (const p of progress.partitions()) {
        const value = read(p, now);
        if (value !== undefined) this.set({ topic: p.topic, partition: String(p.partition) }, value);
      }
    };
  return {
    registry,
    messagesConsumed: new Counter({
      name: 'worker_messages_consumed_total',
      help: 'Kafka messages whose batch was handled to the end (stored, duplicate or dead-lettered).',
      registers,
    }),
    eventsStored: new Counter({ name: 'worker_events_stored_total', help: 'Events newly stored.', registers }),
    eventsDuplicate: new Counter({
      name: 'worker_events_duplicate_total',
      help: 'Events already stored (redeliveries), counted as success.',
      registers,
    }),
    eventsErased: new Counter({
      name: 'worker_events_erased_total',
      help: 'Events not stored (or removed right after the write) because their user was erased after they were received.',
      registers,
    }),
    progressWriteFailures: new Counter({
      name: 'worker_progress_write_failures_total',
      help: 'Partition progress (watermark) writes that failed or timed out; the next one carries the same news.',
      registers,
    }),
    eventsDeadLettered: new Counter({
      name: 'worker_events_dead_lettered_total',
      help: 'Messages published to the DLQ topic, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    batchSize: new Histogram({
      name: 'worker_batch_size',
      help: 'Messages per handled batch.',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    }),
    storeWriteSeconds: new Histogram({
      name: 'worker_store_write_seconds',
      help: 'Duration of one bulk write to the store, failed ones included.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    storeRetries: new Counter({
      name: 'worker_store_retries_total',
      help: 'Batches retried after a transient store or DLQ failure.',
      registers,
    }),
    consumerLag: new Gauge({
      name: 'worker_consumer_lag',
      help: 'Messages behind the high watermark, per partition this member owns (last batch or lag check).',
      labelNames: ['topic', 'partition'] as const,
      registers,
      collect: perPartition((p) => p.lag),
    }),
    secondsSinceCommit: new Gauge({
      name: 'worker_seconds_since_last_commit',
      help: 'Seconds since this member last committed the partition (or was given it), per owned partition.',
      labelNames: ['topic', 'partition'] as const,
      registers,
      collect: perPartition((p, now) => (now - p.lastCommitAt) / 1000),
    }),
    waitingSeconds: new Gauge({
      name: 'worker_partition_stalled_seconds',
      help: 'Seconds the partition has been behind with no commit (0 when caught up); readiness fails past WORKER_STALL_READY_MS.',
      labelNames: ['topic', 'partition'] as const,
      registers,
      collect: perPartition((p, now) => (p.waitingSince === undefined ? 0 : (now - p.waitingSince) / 1000)),
    }),
    retentionDeleted: new Counter({
      name: 'worker_retention_deleted_total',
      help: 'Events deleted by the retention sweep (only where the store has no TTL indexes).',
      registers,
    }),
  };
}
