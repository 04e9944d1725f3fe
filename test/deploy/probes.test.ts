import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CHECK_TIMEOUT_MS } from '../../services/shared/src/ops-server';
import { containerOf, find, podSpecOf, render, ROOT, type Container, type Probe } from './manifests';
import { defaultOf, schemaKeys, type Service } from './environment';

/** The ops-port contract: probes and metrics on a port of their own, never the public one. */
const CONTRACT = {
  api: { deployment: 'activity-logger-api', opsPort: 3002 },
  worker: { deployment: 'activity-logger-worker', opsPort: 3001 },
} as const;
/** The longest the services' own health and readiness checks wait for a dependency. */
const APP_CHECK_TIMEOUT_SECONDS = CHECK_TIMEOUT_MS / 1000;

const objects = render('base');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}
const servicesSource = sourceFiles(path.join(ROOT, 'services'))
  .map((file) => readFileSync(file, 'utf8'))
  .join('\n');

function opsPortOf(container: Container): number | undefined {
  return container.ports?.find((port) => port.name === 'ops')?.containerPort;
}

function envValue(container: Container, name: string): string | undefined {
  return container.env?.find((variable) => variable.name === name)?.value;
}

describe.each(Object.keys(CONTRACT) as Service[])('%s', (service) => {
  const { deployment, opsPort } = CONTRACT[service];
  const container = containerOf(objects, 'Deployment', deployment);
  const probes: [string, Probe | undefined, string][] = [
    ['startupProbe', container.startupProbe, '/healthz'],
    ['livenessProbe', container.livenessProbe, '/healthz'],
    ['readinessProbe', container.readinessProbe, '/readyz'],
  ];

  test.each(probes)('%s asks %s on the ops port', (_kind, probe, expectedPath) => {
    expect(probe?.httpGet).toEqual({ path: expectedPath, port: 'ops' });
    // The service's code serves that path (wherever its ops module lives).
    expect(servicesSource).toContain(`'${expectedPath}'`);
  });

  test.each(probes)('%s waits longer than the app’s own checks', (_kind, probe) => {
    expect(probe?.timeoutSeconds).toBeGreaterThan(APP_CHECK_TIMEOUT_SECONDS);
  });

  test('the ops port is the contract’s, set through OPS_PORT, and not the public port', () => {
    expect(opsPortOf(container)).toBe(opsPort);
    expect(envValue(container, 'OPS_PORT')).toBe(String(opsPort));
    expect(container.ports?.filter((port) => port.containerPort === opsPort)).toHaveLength(1);
  });

  test('the code listens for probes where the manifest probes', () => {
    expect(schemaKeys(service)).toContain('OPS_PORT');
    expect(defaultOf(service, 'OPS_PORT')).toBe(opsPort);
  });

  test('a startupProbe gives at least a minute before liveness applies', () => {
    const { periodSeconds = 10, failureThreshold = 3 } = container.startupProbe ?? {};
    expect(periodSeconds * failureThreshold).toBeGreaterThanOrEqual(60);
  });
});

test('only the API’s public port is behind the Service (the ops ports stay off it)', () => {
  const api = containerOf(objects, 'Deployment', 'activity-logger-api');
  const service = find<{ spec: { ports: { targetPort: string }[] } }>(objects, 'Service', 'activity-logger-api');
  expect(service.spec.ports.map((port) => port.targetPort)).toEqual(['http']);
  expect(api.ports?.find((port) => port.name === 'http')?.containerPort).toBe(Number(envValue(api, 'PORT')));
  expect(defaultOf('api', 'PORT')).toBe(3000);
});

test('the API’s grace period covers the preStop sleep, the shutdown delay and the drain', () => {
  const spec = podSpecOf(objects, 'Deployment', 'activity-logger-api');
  const [api] = spec.containers;
  const { data } = find<{ data: Record<string, string> }>(objects, 'ConfigMap', 'activity-logger');
  const preStop = api?.lifecycle?.preStop?.sleep?.seconds ?? 0;
  expect(preStop).toBeGreaterThanOrEqual(3);
  const shutdownDelay = Number(data.SHUTDOWN_DELAY_MS) / 1000;
  const drain = Number(defaultOf('api', 'PRODUCE_TIMEOUT_MS')) / 1000 + 1;
  expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + shutdownDelay + drain);
  // Past SHUTDOWN_TIMEOUT_MS the API exits by itself; the kubelet must not kill it before that.
  expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + Number(data.SHUTDOWN_TIMEOUT_MS) / 1000);
});

test('the worker’s grace period covers its drain bound', () => {
  const spec = podSpecOf(objects, 'Deployment', 'activity-logger-worker');
  const { data } = find<{ data: Record<string, string> }>(objects, 'ConfigMap', 'activity-logger');
  expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(data.SHUTDOWN_TIMEOUT_MS) / 1000);
});

test('the topic Job runs an entry point that the worker image builds', () => {
  const job = containerOf(objects, 'Job', 'activity-logger-topics');
  expect(job.command).toEqual(['node', 'services/worker/dist/create-topics.js']);
  expect(readFileSync(path.join(ROOT, 'services/worker/src/create-topics.ts'), 'utf8')).toContain('ensureTopics');
});
