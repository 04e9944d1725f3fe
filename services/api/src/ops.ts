import type { Registry } from 'prom-client';
import { createOpsServer, type Logger, type OpsServer, type OpsServerConfig } from '@activity-logger/shared';

/**
 * The API's ops server. Ready means "can take events": Kafka answers. The store is reported in
 * the /readyz body (and as `mongodb: failing`) but never takes the API out of a load balancer,
 * because ingest does not need it — a slow or lost store must not stop events from being accepted.
 */
export function createApiOpsServer(deps: {
  config: OpsServerConfig;
  kafkaReady: () => Promise<boolean>;
  /** The public listener is up: ops listens first, so a starting API is alive but not ready. */
  listening: () => boolean;
  storeReady: () => Promise<boolean>;
  registry: Registry;
  logger: Logger;
}): OpsServer {
  return createOpsServer({
    config: deps.config,
    checks: {
      readiness: { http: deps.listening, kafka: deps.kafkaReady },
      informational: { mongodb: deps.storeReady },
    },
    registry: deps.registry,
    logger: deps.logger,
  });
}
