/**
 * `npm run dev`'s supervisor for one service: runs services/<name>/src/main.ts, restarts it when a
 * source file changes, and — unlike a plain watch mode, which waits for the next edit — restarts it
 * when it exits on its own, saying so loudly. A worker that died at startup must not leave the API
 * taking events that nothing stores.
 *
 *   tsx scripts/dev/supervise.ts api|worker
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import path from 'node:path';

const name = process.argv[2];
if (name !== 'api' && name !== 'worker') {
  process.stderr.write('usage: supervise.ts api|worker\n');
  process.exit(2);
}
const root = path.resolve(__dirname, '../..');
const entry = path.join(root, 'services', name, 'src', 'main.ts');
const RESTART_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000];

let child: ChildProcess | undefined;
let restartingForChange = false;
let crashes = 0;
let stopping = false;
let pending: NodeJS.Timeout | undefined;

function start(): void {
  const started = Date.now();
  const current = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, stdio: 'inherit' });
  child = current;
  current.on('exit', (code, signal) => {
    if (child === current) child = undefined;
    if (stopping) return;
    if (restartingForChange) {
      restartingForChange = false;
      start();
      return;
    }
    // A run that lasted a minute was healthy: start counting crashes again.
    if (Date.now() - started > 60_000) crashes = 0;
    const delay = RESTART_DELAYS_MS[Math.min(crashes, RESTART_DELAYS_MS.length - 1)] ?? 30_000;
    crashes += 1;
    process.stderr.write(
      `\n\x1b[41;97m dev: ${name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s (restart ${crashes}) \x1b[0m\n\n`,
    );
    pending = setTimeout(start, delay);
  });
}

function restartForChange(file: string): void {
  if (stopping) return;
  process.stderr.write(`dev: ${file} changed; restarting ${name}\n`);
  if (child === undefined) {
    clearTimeout(pending);
    start();
    return;
  }
  restartingForChange = true;
  child.kill('SIGTERM');
}

let debounce: NodeJS.Timeout | undefined;
// The viewer's browser code (services/api/viewer) is rebuilt by its own watcher, not run by a service.
const viewerSources = path.join('api', 'viewer') + path.sep;
watch(path.join(root, 'services'), { recursive: true }, (_event, file) => {
  if (file === null || !file.endsWith('.ts') || file.includes('node_modules') || file.endsWith('.test.ts')) return;
  if (file.startsWith(viewerSources)) return;
  clearTimeout(debounce);
  debounce = setTimeout(() => restartForChange(file), 200);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    clearTimeout(pending);
    if (child === undefined) process.exit(0);
    child.once('exit', () => process.exit(0));
    child.kill('SIGTERM');
  });
}

start();
