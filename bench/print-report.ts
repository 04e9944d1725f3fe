/** `tsx bench/print-report.ts REPORT.json`: a saved report's table again, for docs/performance.md. */
import { readFileSync } from 'node:fs';
import { printTable, type Row } from './report';

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: tsx bench/print-report.ts REPORT.json');
  process.exit(2);
}
const report = JSON.parse(readFileSync(file, 'utf8')) as {
  commit: string;
  rows: Row[];
  machine: Parameters<typeof printTable>[1];
  options: Parameters<typeof printTable>[2];
  failures?: { step: string; error: string }[];
};
console.log(`commit ${report.commit}`);
printTable(report.rows, report.machine, report.options);
for (const failure of report.failures ?? []) console.log(`failed: ${failure.step}: ${failure.error}`);
