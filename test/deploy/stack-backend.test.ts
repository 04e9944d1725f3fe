import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './manifests';

/**
 * Which store the local stack's FerretDB uses (scripts/stack/stack.sh, `backend` verb: the choice
 * `up` makes, without starting anything). PostgreSQL binaries are stand-ins here: the choice
 * depends on finding them, not on running them.
 */
const script = path.join(ROOT, 'scripts/stack/stack.sh');
let work: string;
let fakeBin: string;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'stack-backend-'));
  // As root, the stack checks that the PostgreSQL user can enter the stack's folder.
  chmodSync(work, 0o755);
  fakeBin = path.join(work, 'pg-bin');
  mkdirSync(fakeBin);
  for (const program of ['initdb', 'postgres', 'pg_isready', 'psql']) {
    writeFileSync(path.join(fakeBin, program), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  }
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function backend(dir: string, env: Record<string, string> = {}): { status: number | null; output: string } {
  const result = spawnSync('bash', [script, 'backend'], {
    // A user that exists everywhere stands in for `postgres` when the tests run as root.
    env: { PATH: process.env.PATH, STACK_DIR: dir, STACK_POSTGRES_BIN: fakeBin, STACK_POSTGRES_USER: 'nobody', ...env },
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function stackDir(name: string, files: Record<string, string> = {}): string {
  const dir = path.join(work, name);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

it('uses PostgreSQL for a new stack when its binaries are there, and creates nothing to say so', () => {
  const dir = stackDir('fresh');
  expect(backend(dir)).toEqual({
    status: 0,
    output: expect.stringMatching(/backend postgresql: PostgreSQL found in /),
  });
  expect(existsSync(dir)).toBe(false);
});

it('falls back to SQLite when no PostgreSQL server is installed', () => {
  expect(backend(stackDir('no-postgres'), { STACK_POSTGRES_BIN: path.join(work, 'nowhere') })).toEqual({
    status: 0,
    output: expect.stringMatching(/backend sqlite: no PostgreSQL server binaries/),
  });
});

it('keeps a stack made before PostgreSQL was supported on its SQLite data, and says how to move', () => {
  const dir = stackDir('old', { 'ferretdb/data/activity_logger.sqlite': '' });
  const { status, output } = backend(dir);
  expect(status).toBe(0);
  expect(output).toMatch(/backend sqlite: this stack holds SQLite data from before/);
  expect(output).toMatch(/STACK_FERRETDB_BACKEND=postgresql/);
});

it('keeps the backend a stack used before, and refuses to start PostgreSQL data without PostgreSQL', () => {
  const dir = stackDir('made-on-postgres', { 'ferretdb/backend': 'postgresql\n' });
  expect(backend(dir).output).toMatch(/backend postgresql: this stack's data is there/);
  const withoutBinaries = backend(dir, { STACK_POSTGRES_BIN: path.join(work, 'nowhere') });
  expect(withoutBinaries.status).not.toBe(0);
  expect(withoutBinaries.output).toMatch(/STACK_FERRETDB_BACKEND=sqlite uses SQLite instead/);
});

it('takes STACK_FERRETDB_BACKEND over everything, and refuses a backend it does not know', () => {
  expect(backend(stackDir('asked'), { STACK_FERRETDB_BACKEND: 'sqlite' }).output).toMatch(
    /backend sqlite: asked for by STACK_FERRETDB_BACKEND/,
  );
  const unknown = backend(stackDir('asked'), { STACK_FERRETDB_BACKEND: 'mysql' });
  expect(unknown.status).not.toBe(0);
  expect(unknown.output).toMatch(/must be postgresql or sqlite/);
});

it('as root, runs PostgreSQL only as a user that exists (initdb refuses root)', () => {
  const { output } = backend(stackDir('no-user'), { STACK_POSTGRES_USER: 'no-such-user-for-the-stack' });
  // Not root: the server runs as whoever runs the stack, so the user is not consulted.
  expect(output).toMatch(
    process.getuid?.() === 0
      ? /backend sqlite: running as root, and there is no 'no-such-user-for-the-stack' user/
      : /backend postgresql/,
  );
});
