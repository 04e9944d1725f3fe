import { loadApiConfig } from '../../services/api/src/config';
import { loadWorkerConfig } from '../../services/worker/src/config';
import { ConfigError } from '../../services/shared/src/errors';
import { containerOf, find, KUSTOMIZATIONS, render, type Kustomization } from './manifests';
import {
  environmentOf,
  exampleSecret,
  FILLED_SECRET,
  schemaKeys,
  secretFor,
  WORKLOADS,
  type Service,
} from './environment';

/**
 * Variables a config schema reads that the manifests leave to the code's default, on purpose.
 * A new variable in a schema fails the coverage test until it is either set in k8s/ or added here.
 */
const DELIBERATELY_DEFAULTED: Record<string, string> = {
  KAFKA_CLIENT_ID: 'activity-logger names the client in broker logs and quotas; no reason to vary',
  KAFKA_SSL: 'false for a plain in-cluster Kafka; the cloud overlay sets true',
  KAFKA_SASL_MECHANISM: 'none for a plain in-cluster Kafka; the cloud overlay sets plain',
  KAFKA_SASL_USERNAME: 'only with SASL; the Secret carries it in the cloud overlay',
  KAFKA_SASL_PASSWORD: 'only with SASL; the Secret carries it in the cloud overlay',
  MONGODB_DB: 'the database is the one named in MONGODB_URI',
  HOST: 'listen on every address of the pod',
  PRODUCE_TIMEOUT_MS: 'the 5 s of the 202/503 contract; the grace period is computed from it',
  PRODUCE_LINGER_MS: 'tuned in code (bench figures were measured with it)',
  PRODUCE_MAX_BATCH_BYTES: "below the broker's default message.max.bytes (Confluent Cloud's too)",
  PRODUCE_MAX_BATCH_EVENTS: 'tuned in code',
  KAFKA_GROUP_ID: 'one group for all worker replicas: activity-logger-worker',
  KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY: 'tuned in code',
  RETENTION_SWEEP_INTERVAL_MS: 'only where the store has no TTL indexes (not MongoDB, not Atlas)',
  STORE_RETRY_INITIAL_MS: 'tuned in code',
  STORE_RETRY_MAX_MS: 'tuned in code',
  STORE_WRITE_TIMEOUT_MS: 'tuned in code (a bulk write abandoned after 10 s is retried)',
  MONGODB_SOCKET_TIMEOUT_MS: 'tuned in code',
  KAFKA_MAX_BATCH_BYTES: "below the broker's default message.max.bytes (Confluent Cloud's too)",
  STARTUP_TIMEOUT_MS: 'ops listens first, so the startupProbe passes while Kafka and the store are retried',
  WORKER_STALL_READY_MS: 'one minute behind without a commit: not ready',
  WORKER_STALL_LIVE_MS: 'ten minutes behind without a commit: restarted by the livenessProbe',
  LAG_CHECK_INTERVAL_MS: 'tuned in code',
  OPS_PORT: 'the Deployments set it; the topic Job serves no ops port',
  OPS_HOST: 'listen on every address of the pod',
  API_KEYS: 'the keys come from the Secret mounted as API_KEYS_FILE',
  AUTH_DISABLED: 'never in a cluster: only with NODE_ENV=development',
  RATE_LIMIT_WINDOW_SECONDS: 'per-replica limits; the README says what N replicas mean',
  RATE_LIMIT_INGEST_EVENTS: 'per-replica limits; the README says what N replicas mean',
  RATE_LIMIT_READ_REQUESTS: 'per-replica limits; the README says what N replicas mean',
  QUERY_TIMEOUT_MS: 'a few seconds; below the ingress read timeout',
  HTTP_REQUEST_TIMEOUT_MS: 'deliberate defaults, documented in the configuration table',
  HTTP_HEADERS_TIMEOUT_MS: 'deliberate defaults, documented in the configuration table',
  HTTP_KEEP_ALIVE_TIMEOUT_MS: "above Traefik's and most load balancers' idle timeouts",
  HTTP_MAX_CONNECTIONS: 'deliberate defaults, documented in the configuration table',
  HTTP_MAX_HEADERS_COUNT: 'deliberate defaults, documented in the configuration table',
  STREAM_MAX_PER_KEY: 'per-replica caps of live tails and exports, documented in the README',
  STREAM_MAX_TOTAL: 'per-replica caps of live tails and exports, documented in the README',
  STREAM_POLL_MS: 'tuned in code',
  STREAM_HEARTBEAT_MS: 'the 15 s of the SSE contract',
  EXPORT_MAX_PER_KEY: 'per-replica caps of exports, documented in the README',
  EXPORT_MAX_TOTAL: 'per-replica caps of exports, documented in the README',
  EXPORT_TIMEOUT_MS: 'deliberate defaults, documented in the configuration table',
  EXPORT_BATCH_TIMEOUT_MS: 'deliberate defaults, documented in the configuration table',
};

/**
 * Variables the manifests already set for the shared contract whose schema change lands on
 * another branch. Each entry goes once a schema reads it (a test below fails while it lingers).
 */
const PENDING_CONTRACT_VARIABLES = new Set<string>([]);

const LOADERS: Record<Service, (env: Record<string, string>) => unknown> = {
  api: loadApiConfig,
  worker: loadWorkerConfig,
};

const allSchemaKeys = new Set([...schemaKeys('api'), ...schemaKeys('worker')]);

describe.each(Object.keys(KUSTOMIZATIONS) as Kustomization[])('kustomization %s', (kustomization) => {
  const objects = render(kustomization);

  test.each(WORKLOADS)(
    '$kind $name: every variable its schema reads is set or deliberately defaulted',
    ({ kind, name, service }) => {
      const env = environmentOf(objects, containerOf(objects, kind, name), secretFor(kustomization, FILLED_SECRET));
      const uncovered = schemaKeys(service).filter((key) => !(key in env) && !(key in DELIBERATELY_DEFAULTED));
      expect(uncovered).toEqual([]);
    },
  );

  test.each(WORKLOADS)(
    '$kind $name: the environment parses, once the Secret is filled in',
    ({ kind, name, service }) => {
      const env = environmentOf(objects, containerOf(objects, kind, name), secretFor(kustomization, FILLED_SECRET));
      expect(() => LOADERS[service](env)).not.toThrow();
    },
  );

  test.each(WORKLOADS)(
    '$kind $name: every variable it sets is read by its schema (no typos, no leftovers)',
    ({ kind, name, service }) => {
      const own = (containerOf(objects, kind, name).env ?? []).map((variable) => variable.name);
      const unread = own.filter((key) => !schemaKeys(service).includes(key) && !PENDING_CONTRACT_VARIABLES.has(key));
      expect(unread).toEqual([]);
    },
  );

  test('every ConfigMap key is read by a schema', () => {
    const { data } = find<{ data: Record<string, string> }>(objects, 'ConfigMap', 'activity-logger');
    const unread = Object.keys(data).filter((key) => !allSchemaKeys.has(key) && !PENDING_CONTRACT_VARIABLES.has(key));
    expect(unread).toEqual([]);
  });
});

test('the filled-in example Secret has exactly the keys of k8s-secrets.example.yaml, each read by a schema', () => {
  expect(Object.keys(exampleSecret()).sort()).toEqual(Object.keys(FILLED_SECRET).sort());
  expect(Object.keys(FILLED_SECRET).filter((key) => !allSchemaKeys.has(key))).toEqual([]);
});

test('no pending contract variable is already read by a schema (remove it from the list once it is)', () => {
  expect([...PENDING_CONTRACT_VARIABLES].filter((key) => allSchemaKeys.has(key))).toEqual([]);
});

test.each([
  [
    'api',
    'activity-logger-api',
    ['KAFKA_BROKERS', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'MONGODB_URI', 'CURSOR_SECRET'],
  ],
  ['worker', 'activity-logger-worker', ['KAFKA_BROKERS', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'MONGODB_URI']],
] as const)(
  '%s: the example Secret left as shipped fails config validation, naming each placeholder',
  (service, deployment, expected) => {
    const objects = render('cloud');
    const env = environmentOf(objects, containerOf(objects, 'Deployment', deployment), exampleSecret());
    let failure: unknown;
    try {
      LOADERS[service](env);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(ConfigError);
    expect([...new Set((failure as ConfigError).variables)].sort()).toEqual([...expected].sort());
  },
);
