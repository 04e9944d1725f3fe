/**
 * `tsx bench/profile-top.ts FILE.cpuprofile [N] [function|package]`: the N functions (or npm
 * packages, node internals, our services) with the most self time in a V8 CPU profile (from
 * `npm run bench -- --profile DIR`), as a Markdown table.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
}
interface Profile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: number[];
}

const [file, count = '25', grouping = 'function'] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: tsx bench/profile-top.ts FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const totalHits = profile.samples.length;
const millisPerHit = (profile.endTime - profile.startTime) / 1000 / Math.max(1, totalHits);
const byFrame = new Map<string, number>();
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const where =
    url === ''
      ? ''
      : `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/services\//, 'services/')}:${lineNumber + 1}`;
  const name =
    grouping === 'package' ? packageOf(url, functionName) : `${functionName || '(anonymous)'} ${where}`.trim();
  byFrame.set(name, (byFrame.get(name) ?? 0) + (node.hitCount ?? 0));
}
const idle = new Set(['(idle)', '(program)', '(garbage collector)']);
const busy = [...byFrame].filter(([name]) => !idle.has(name)).reduce((sum, [, hits]) => sum + hits, 0);
console.log(
  `${path.basename(file)}: ${((totalHits * millisPerHit) / 1000).toFixed(1)} s sampled, ${busy} busy samples`,
);
console.log('| self % of all | self % of busy | function |\n|---|---|---|');
for (const [name, hits] of [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) {
  console.log(
    `| ${((hits / totalHits) * 100).toFixed(1)} | ${idle.has(name) ? '' : ((hits / busy) * 100).toFixed(1)} | ${name} |`,
  );
}

function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules !== null) return inModules[1] as string;
  const service = /\/services\/([^/]+)\/src\/(.+)$/.exec(url);
  if (service !== null) return `services/${service[1]}/${service[2]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}
