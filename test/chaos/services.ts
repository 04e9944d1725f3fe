import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../support/service-process';
import { delay } from './stack';

const root = path.resolve(__dirname, '../..');

/** One API key for the whole run, in the contract's format (`alk_` + 32 random bytes, base64url). */
const API_KEY = `alk_${randomBytes(32).toString('base64url')}`;
export const AUTH_HEADER = `Bearer ${API_KEY}`;
const API_KEYS = `chaos:ingest+read:${createHash('sha256').update(API_KEY).digest('hex')}`;

/** Where one scenario's services connect: its own topic, group and database on the private stack. */
export interface ServiceTarget {
  readonly kafkaBrokers: string;
  readonly mongoUri: string;
  readonly database: string;
  readonly topic: string;
  readonly groupId: string;
}

export type ServiceName = 'api' | 'worker';

export interface RunningService {
  readonly name: string;
  readonly pid: number;
  /** The public port (api) — 0 for a worker. */
  readonly port: number;
  readonly opsPort: number;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<string>;
  /** Set once it exits; `expected` is false when it exited without being signalled by the suite. */
  exit?: { readonly at: number; readonly code: string; readonly expected: boolean };
  signal(signal: 'SIGTERM' | 'SIGKILL'): void;
  /** Until /readyz answers 200 on the ops port. */
  waitReady(timeoutMs: number): Promise<void>;
}

/** Every process the suite started and has not seen exit, so any way out of the run can end them. */
const live = new Set<ChildProcess>();

export function killAllServices(): void {
  for (const child of live) child.kill('SIGKILL');
}

export async function awaitAllServicesGone(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (live.size > 0 && Date.now() < deadline) await delay(50);
}

/**
 * Runs `services/<name>/src/main.ts` as a real process configured by the environment only, as a
 * production deployment would be (NODE_ENV=production, API keys, a cursor secret), with an ops
 * port of its own.
 */
export async function startService(
  service: ServiceName,
  target: ServiceTarget,
  options: { label: string; logDir: string; port?: number; env?: Record<string, string> },
): Promise<RunningService> {
  const port = service === 'api' ? (options.port ?? (await freePort())) : 0;
  const opsPort = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: target.kafkaBrokers,
    KAFKA_TOPIC: target.topic,
    KAFKA_GROUP_ID: target.groupId,
    KAFKA_CLIENT_ID: `chaos-${options.label}`,
    MONGODB_URI: target.mongoUri,
    MONGODB_DB: target.database,
    CURSOR_SECRET: 'chaos-suite-cursor-secret-0123456789',
    API_KEYS,
    OPS_PORT: String(opsPort),
    OPS_HOST: '127.0.0.1',
    ...(service === 'api' ? { PORT: String(port), HOST: '127.0.0.1' } : {}),
    ...options.env,
  };
  mkdirSync(options.logDir, { recursive: true });
  const log = openSync(path.join(options.logDir, `${options.label}.log`), 'a');
  // tsx is loaded into node, not run as its CLI: the CLI's wrapper would relay (and escalate)
  // signals, and the suite must signal the service itself, as Kubernetes does.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, `services/${service}/src/main.ts`)], {
    cwd: root,
    env,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${options.label}`);
  live.add(child);
  let signalled = false;
  const handle: RunningService = {
    name: options.label,
    pid: child.pid,
    port,
    opsPort,
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(child);
        const text = signal ?? String(code);
        handle.exit = { at: Date.now(), code: text, expected: signalled };
        resolve(text);
      }),
    ),
    signal(name) {
      signalled = true;
      if (handle.exit === undefined) child.kill(name);
    },
    async waitReady(timeoutMs) {
      const url = `http://127.0.0.1:${opsPort}/readyz`;
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (handle.exit !== undefined) throw new Error(`${options.label} exited (${handle.exit.code}) before ready`);
        const res = await fetch(url, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        if (res?.status === 200) return;
        await delay(250);
      }
      throw new Error(`${options.label} not ready within ${timeoutMs} ms`);
    },
  };
  return handle;
}
