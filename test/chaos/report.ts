import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ScenarioOutcome } from './scenario-run';

export interface RunReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly commit: string;
  readonly machine: string;
  readonly mode: string;
  readonly pass: boolean;
  readonly scenarios: ScenarioOutcome[];
}

const seconds = (value: number | null | undefined) => (value === null || value === undefined ? '—' : value.toFixed(1));

/** The worst recovery of a scenario (its slowest fault), "never" when a partition did not resume. */
function worstRecovery(outcome: ScenarioOutcome): string {
  if (outcome.recoveries.length === 0) return '—';
  if (outcome.recoveries.some((r) => r.stalledSeconds === null)) return 'never';
  return seconds(Math.max(...outcome.recoveries.map((r) => r.stalledSeconds ?? 0)));
}

/** The slowest first commit after a fault was removed: when storing resumed at all. */
function firstStore(outcome: ScenarioOutcome): string {
  if (outcome.recoveries.length === 0) return '—';
  if (outcome.recoveries.some((r) => r.firstCommitSeconds === null)) return 'never';
  return seconds(Math.max(...outcome.recoveries.map((r) => r.firstCommitSeconds ?? 0)));
}

/** The table of docs/reliability.md: one row per scenario, the columns explained there. */
export function markdownTable(outcomes: readonly ScenarioOutcome[]): string {
  const header = [
    'scenario',
    'result',
    'sent',
    'acked',
    '503',
    'acked_lost',
    'stored_dups',
    'unacked_present',
    'dlq',
    'drain_s',
    'first_store_s',
    'recovery_s (bound)',
    'failed checks',
  ];
  const rows = outcomes.map((o) => [
    o.name,
    o.pass ? 'PASS' : '**FAIL**',
    String(o.sent),
    String(o.acked),
    String(o.unavailable),
    String(o.ackedLost),
    String(o.storedDups),
    String(o.unackedPresent),
    String(o.dlq),
    seconds(o.drainSeconds),
    firstStore(o),
    `${worstRecovery(o)} (${o.recoveryBoundSeconds})`,
    o.checks
      .filter((check) => !check.ok)
      .map((check) => `${check.name}: ${check.detail}`)
      .join('; ')
      .replaceAll('|', '/'),
  ]);
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Writes the JSON report (git-ignored) and a copy under a stable name for the latest run. */
export function writeReport(dir: string, report: RunReport): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `report-${report.startedAt.replaceAll(':', '-')}.json`);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, text);
  writeFileSync(path.join(dir, 'last-report.json'), text);
  return file;
}
