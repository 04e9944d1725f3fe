import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { eventually } from './eventually';

const root = path.resolve(__dirname, '../..');

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  /** Sends SIGTERM (or `signal`) unless it has exited, and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited(): Promise<number | null>;
}

/**
 * Runs a service's main.ts as a real process, configured by the environment only. tsx is loaded
 * into node rather than run as its CLI: the CLI's wrapper process relays signals and SIGKILLs a
 * child that does not acknowledge one within milliseconds (a worker busy with a batch may not),
 * and a test must signal the service itself, as Kubernetes does.
 */
export function startService(
  service: 'api' | 'worker',
  env: Record<string, string>,
  options: { script?: string; outputLimit?: number; nodeArgs?: readonly string[] } = {},
): ServiceProcess {
  // `script` runs something else in the service's place (the bench's cluster launcher, say).
  const script = options.script ?? path.join(root, `services/${service}/src/main.ts`);
  // `nodeArgs`: flags NODE_OPTIONS does not take, such as --cpu-prof.
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // A long run at LOG_LEVEL=info writes hundreds of MB: `outputLimit` keeps only the tail.
  const limit = options.outputLimit ?? Number.POSITIVE_INFINITY;
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > limit) output = output.slice(-limit);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited: () => exit,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}

/** Waits until `url` answers 200, failing early with the process output if it exits. */
export async function waitReady(service: ServiceProcess, url: string, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      if (service.child.exitCode !== null) {
        throw new Error(`exited with ${service.child.exitCode}:\n${service.output()}`);
      }
      const res = await fetch(url).catch(() => undefined);
      return res?.ok === true ? true : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `${url} to be ready` },
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
