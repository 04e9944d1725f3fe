import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { parse } from 'yaml';
import { createApiMetrics } from '../../services/api/src/metrics';
import { createWorkerMetrics } from '../../services/worker/src/metrics';
import { createProgressTracker } from '../../services/worker/src/progress';
import { ROOT } from './manifests';

/**
 * The Grafana dashboard and the Prometheus alert rules may only reference metrics the services
 * export (or a few from kube-state-metrics), with labels those metrics have: a renamed metric must
 * not leave a silent panel or an alert that can never fire.
 */

/** Series from outside the services: kube-state-metrics (readiness) and Prometheus itself. */
const EXTERNAL_METRICS = new Set(['kube_deployment_status_replicas_available', 'kube_deployment_spec_replicas', 'up']);
/** Labels Prometheus or kube-state-metrics add to every series (target labels). */
const TARGET_LABELS = new Set(['namespace', 'pod', 'instance', 'job', 'deployment', 'container']);
const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

interface Exported {
  type: string;
  labelNames: readonly string[];
}

async function exported(registries: Registry[]): Promise<Map<string, Exported>> {
  const names = new Map<string, Exported>();
  for (const registry of registries) {
    for (const { name, type } of await registry.getMetricsAsJSON()) {
      const metric = registry.getSingleMetric(name) as unknown as { labelNames?: string[] };
      const entry = { type: String(type), labelNames: metric.labelNames ?? [] };
      names.set(name, entry);
      // A histogram is scraped as three series; `le` is the buckets' label.
      if (entry.type === 'histogram') {
        names.set(`${name}_bucket`, { ...entry, labelNames: [...entry.labelNames, 'le'] });
        names.set(`${name}_sum`, entry);
        names.set(`${name}_count`, entry);
      }
    }
  }
  return names;
}

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or labels. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  return [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .filter(
      (match) =>
        !stripped
          .slice((match.index ?? 0) + match[0].length)
          .trimStart()
          .startsWith('('),
    )
    .map((match) => match[0])
    .filter((name) => !PROMQL_WORDS.has(name));
}

/** `metric{label="…"}` pairs and the label names each selector uses. */
function selectors(expr: string): { metric: string; labels: string[] }[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)].map((match) => ({
    metric: match[1] ?? '',
    labels: [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((label) => label[1] ?? ''),
  }));
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'ops/grafana/activity-logger.json'), 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
  };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

function alertExpressions(): string[] {
  const rules = parse(readFileSync(path.join(ROOT, 'ops/prometheus/alerts.yml'), 'utf8')) as {
    groups: { rules: { alert: string; expr: string; labels?: { severity?: string } }[] }[];
  };
  const all = rules.groups.flatMap((group) => group.rules);
  for (const rule of all)
    expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
      alert: rule.alert,
      severity: expect.stringMatching(/^(warning|critical)$/) as unknown,
    });
  return all.map((rule) => rule.expr);
}

test('the PromQL reader finds metric names, not functions, keywords or labels', () => {
  expect(
    metricNames('histogram_quantile(0.99, sum by (le) (rate(a_bucket{route=~"/x(y)?"}[5m]))) > 1 and on(pod) b_total'),
  ).toEqual(['a_bucket', 'b_total']);
});

describe.each([
  ['the Grafana dashboard', dashboardExpressions],
  ['the Prometheus alert rules', alertExpressions],
])('%s', (_name, expressions) => {
  test('references only metrics the services export, with their labels', async () => {
    const api = createApiMetrics();
    const worker = createWorkerMetrics({ progress: createProgressTracker() });
    const known = await exported([api.registry, worker.registry]);
    const exprs = expressions();
    expect(exprs.length).toBeGreaterThan(5);

    const unknown = exprs.flatMap(metricNames).filter((name) => !known.has(name) && !EXTERNAL_METRICS.has(name));
    expect([...new Set(unknown)]).toEqual([]);

    const badLabels = exprs.flatMap(selectors).flatMap(({ metric, labels }) => {
      const entry = known.get(metric);
      if (entry === undefined) return [];
      return labels
        .filter((label) => !entry.labelNames.includes(label) && !TARGET_LABELS.has(label))
        .map((label) => `${metric}{${label}}`);
    });
    expect(badLabels).toEqual([]);
  });
});

test('the dashboard covers ingest, 503s, produce latency, lag, dead letters, store writes and readiness', () => {
  const all = dashboardExpressions().join('\n');
  for (const metric of [
    'api_events_accepted_total',
    'status="503"',
    'api_produce_duration_seconds_bucket',
    'worker_consumer_lag',
    'worker_events_dead_lettered_total',
    'worker_store_retries_total',
    'kube_deployment_status_replicas_available',
  ]) {
    expect(all).toContain(metric);
  }
});
