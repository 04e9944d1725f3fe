import type { StoreQueryResult } from './store-queries';
/** One line of the table: a figure, its ceiling from the same run, and the target if there is one. */
export interface Row {
  readonly what: string;
  readonly figure: number | null;
  readonly unit: string;
  readonly ceiling?: number;
  readonly ceilingWhat?: string;
  /** The ratio the figure must reach (figure / ceiling). */
  readonly target?: number;
  /** For times: the ratio is ceiling / figure. */
  readonly lowerIsBetter?: boolean;
  /** Milliseconds. */
  readonly p50?: number | null;
  readonly p99?: number | null;
  readonly p99Target?: number;
  readonly errors?: number | null;
  readonly apiCpuPer1000?: number | null;
  readonly workerCpuPer1000?: number | null;
  readonly apiRssMiB?: number;
  readonly workerRssMiB?: number;
}

export function ratio(row: Row): number | undefined {
  if (row.ceiling === undefined || row.figure === null || row.figure === 0) return undefined;
  return row.lowerIsBetter === true ? row.ceiling / row.figure : row.figure / row.ceiling;
}

/** "met", "MISSED" or "" when the row has no target. */
export function verdict(row: Row): string {
  const checks: boolean[] = [];
  const r = ratio(row);
  if (row.target !== undefined && r !== undefined) checks.push(r >= row.target);
  if (row.p99Target !== undefined && row.p99 !== undefined && row.p99 !== null) checks.push(row.p99 <= row.p99Target);
  if (checks.length === 0) return '';
  return checks.every(Boolean) ? 'met' : 'MISSED';
}

const num = (value: number | null | undefined, digits = 0) =>
  value === undefined || value === null || Number.isNaN(value)
    ? '—'
    : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function targetText(row: Row): string {
  const parts: string[] = [];
  if (row.target !== undefined) parts.push(`≥ ${row.target}×`);
  if (row.p99Target !== undefined) parts.push(`p99 ≤ ${row.p99Target} ms`);
  return parts.join(', ');
}

/** The table as Markdown, so that docs/performance.md can quote it as printed. */
export function tableLines(rows: readonly Row[]): string[] {
  const header = [
    'measurement',
    'this project',
    'ceiling',
    'ratio',
    'target',
    'p50 / p99 ms',
    'errors',
    'CPU-s/1k api',
    'CPU-s/1k worker',
    'RSS MiB api / worker',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const r = ratio(row);
    const figureDigits = row.unit === 'ms' ? 1 : 0;
    const cells = [
      row.what,
      row.figure === null ? '' : `${num(row.figure, figureDigits)} ${row.unit}`,
      row.ceiling === undefined ? '' : `${num(row.ceiling, figureDigits)} ${row.unit} (${row.ceilingWhat ?? ''})`,
      r === undefined ? '' : `${num(r, 2)}`,
      `${targetText(row)}${verdict(row) === '' ? '' : ` ${verdict(row)}`}`,
      row.p50 === undefined ? '' : `${num(row.p50, 1)} / ${num(row.p99, 1)}`,
      num(row.errors ?? null),
      num(row.apiCpuPer1000, 3),
      num(row.workerCpuPer1000, 3),
      row.apiRssMiB === undefined && row.workerRssMiB === undefined
        ? ''
        : `${num(row.apiRssMiB ?? null)} / ${num(row.workerRssMiB ?? null)}`,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

export function printTable(
  rows: readonly Row[],
  machine: { nproc: number; cpu: string; memoryGiB: number; node: string; loadBefore: number[]; loadAfter: number[] },
  options: { apiProcs: number; workers: number; partitions: number },
): void {
  console.log(
    `machine: ${machine.nproc} × ${machine.cpu}, ${machine.memoryGiB} GiB, node ${machine.node}; ` +
      `load ${machine.loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ` +
      `${machine.loadAfter.map((l) => l.toFixed(2)).join(' ')} after`,
  );
  console.log(`processes: ${options.apiProcs} api, ${options.workers} worker(s), ${options.partitions} partitions\n`);
  for (const line of tableLines(rows)) console.log(line);
}

/** The store's own reads (bench/store-queries.ts): median and max per query shape, per count. */
export function storeReadLines(results: readonly StoreQueryResult[]): string[] {
  if (results.length === 0) return [];
  const lines = ['', '| store read | events | backend | median ms | max ms | runs |', '|---|---|---|---|---|---|'];
  for (const result of results) {
    for (const [name, timing] of Object.entries(result.queries)) {
      if (timing === undefined) continue;
      lines.push(
        `| ${name} | ${result.count} | ${result.backend} | ${timing.medianMs.toFixed(1)} | ${timing.maxMs.toFixed(1)} | ${timing.runs} |`,
      );
    }
    lines.push(`| inserts (docs/s) | ${result.count} | ${result.backend} | ${result.insertDocsPerSecond} | | |`);
  }
  return lines;
}
