import type { z } from 'zod';
import { apiEnvSchema } from '../../services/api/src/config';
import { workerEnvSchema } from '../../services/worker/src/config';
import { find, readYaml, type Container, type K8sObject, type Kustomization } from './manifests';

/** Which env schema reads each workload's environment (the topic Job runs the worker's config). */
export const WORKLOADS = [
  { kind: 'Deployment', name: 'activity-logger-api', service: 'api' },
  { kind: 'Deployment', name: 'activity-logger-worker', service: 'worker' },
  { kind: 'Job', name: 'activity-logger-topics', service: 'worker' },
] as const;
export type Service = (typeof WORKLOADS)[number]['service'];

export const SCHEMAS = { api: apiEnvSchema, worker: workerEnvSchema } satisfies Record<Service, z.ZodObject>;

export function schemaKeys(service: Service): string[] {
  return Object.keys(SCHEMAS[service].shape);
}

/** What a schema makes of a variable that is not set: its default, or undefined. */
export function defaultOf(service: Service, key: string): unknown {
  const field = (SCHEMAS[service].shape as Record<string, z.ZodType | undefined>)[key];
  const result = field?.safeParse(undefined);
  return result?.success === true ? result.data : undefined;
}

/** The Secret `activity-logger` as k8s-secrets.example.yaml ships it (placeholders in). */
export function exampleSecret(): Record<string, string> {
  const secret = find<{ stringData: Record<string, string> }>(
    readYaml('k8s-secrets.example.yaml'),
    'Secret',
    'activity-logger',
  );
  return secret.stringData;
}

/** The same Secret as a user fills it in for Confluent Cloud and Atlas. */
export const FILLED_SECRET: Record<string, string> = {
  KAFKA_BROKERS: 'pkc-12345.eu-west-1.aws.confluent.cloud:9092',
  KAFKA_SASL_USERNAME: 'ABCDEFGHIJKLMNOP',
  KAFKA_SASL_PASSWORD: 'a-confluent-api-secret',
  MONGODB_URI: 'mongodb+srv://logger:password@cluster0.abcde.mongodb.net/activity_logger?retryWrites=true',
  CURSOR_SECRET: 'QmFzZTY0IG9mIDMyIHJhbmRvbSBieXRlcyBnb2VzIGhlcmU=',
};

/** What the Secret holds per kustomization: the self-hosted overlay's README step creates only CURSOR_SECRET. */
export function secretFor(kustomization: Kustomization, secret: Record<string, string>): Record<string, string> {
  return kustomization === 'self-hosted' ? { CURSOR_SECRET: secret.CURSOR_SECRET ?? '' } : secret;
}

/** The environment a container starts with: envFrom in order, then env (which wins). */
export function environmentOf(
  objects: readonly K8sObject[],
  container: Container,
  secret: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef !== undefined) {
      Object.assign(env, find<{ data: Record<string, string> }>(objects, 'ConfigMap', source.configMapRef.name).data);
    }
    if (source.secretRef?.name === 'activity-logger') Object.assign(env, secret);
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
  }
  return env;
}
