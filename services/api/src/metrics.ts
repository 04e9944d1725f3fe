import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The API's own registry (not prom-client's global one), so tests can build many apps. */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    eventsAccepted: new Counter({
      name: 'api_events_accepted_total',
      help: 'Events acknowledged by Kafka and answered 202',
      registers: [registry],
    }),
    ingestRejected: new Counter({
      name: 'api_ingest_rejected_total',
      help: 'POST /api/logs[/batch] requests refused, by error code (a batch is refused whole)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    produceBatchSize: new Histogram({
      name: 'api_produce_batch_events',
      help: 'Events per Kafka produce request (after coalescing)',
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    }),
    produceDuration: new Histogram({
      name: 'api_produce_duration_seconds',
      help: 'Time from send to acks=all acknowledgement of one produce request',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    produceFailures: new Counter({
      name: 'api_produce_failures_total',
      help: 'Produce requests that failed (their events were answered 503)',
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
