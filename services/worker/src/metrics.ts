import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface WorkerMetrics {
  readonly registry: Registry;
  readonly messagesConsumed: Counter;
  readonly eventsStored: Counter;
  readonly eventsDuplicate: Counter;
  readonly eventsDeadLettered: Counter<'reason'>;
  readonly batchSize: Histogram;
  readonly storeWriteSeconds: Histogram;
  readonly storeRetries: Counter;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly retentionDeleted: Counter;
}

/**
 * The worker's metrics on a registry of their own (not prom-client's global one), so tests and
 * several workers in one process never collide over metric names.
 */
export function createWorkerMetrics(options: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
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
      help: 'Messages behind the high watermark after the last handled batch, per partition.',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    retentionDeleted: new Counter({
      name: 'worker_retention_deleted_total',
      help: 'Events deleted by the retention sweep (only where the store has no TTL indexes).',
      registers,
    }),
  };
}
