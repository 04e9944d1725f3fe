import path from 'node:path';
import { eventually } from '../test/support/eventually';
import { freePort, startService, waitReady, type ServiceProcess } from '../test/support/service-process';

const root = path.resolve(__dirname, '..');
const CLUSTER = path.join(root, 'bench/cluster.ts');
/** Enough of a process's log to explain a failure; a long run at info level writes far more. */
const OUTPUT_LIMIT = 64 * 1024;

export interface BenchService {
  readonly pid: number;
  readonly port: number;
  readonly opsPort: number;
  stop(): Promise<void>;
  /** For a run that gives up: no graceful stop, nothing left behind. */
  kill(): void;
  /** The tail of what it wrote, and how it exited if it has, for a failure report. */
  describe(): string;
}

function wrap(service: ServiceProcess, port: number, opsPort: number): BenchService {
  const pid = service.child.pid;
  if (pid === undefined) throw new Error('process did not start');
  return {
    pid,
    port,
    opsPort,
    stop: async () => {
      await service.stop();
    },
    describe: () => {
      const { exitCode, signalCode } = service.child;
      const state = exitCode === null && signalCode === null ? 'running' : `exited (${signalCode ?? exitCode})`;
      return `pid ${pid}, ${state}; last output:\n${service.output().slice(-4000)}`;
    },
    kill: () => {
      // A cluster's processes exit when their primary's IPC channel closes.
      service.child.kill('SIGKILL');
    },
  };
}

/** Until a cluster primary says every process listens (a single process: until ready). */
async function clusterListening(service: ServiceProcess, procs: number): Promise<void> {
  await eventually(
    () => {
      if (service.child.exitCode !== null) throw new Error(`exited:\n${service.output()}`);
      return service.output().includes(`bench cluster: ${procs} processes listening`) ? true : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 100, what: `${procs} processes to listen` },
  );
}

/**
 * The API as `procs` processes behind one port (cluster) or one plain process, configured by
 * the environment only, like production.
 */
export async function startApi(
  env: Record<string, string>,
  procs: number,
  nodeArgs: readonly string[] = [],
): Promise<BenchService> {
  const [port, opsPort] = await Promise.all([freePort(), freePort()]);
  const apiEnv = { ...env, PORT: String(port), HOST: '127.0.0.1', OPS_PORT: String(opsPort), OPS_HOST: '127.0.0.1' };
  const entry = path.join(root, 'services/api/src/main.ts');
  const service =
    procs === 1
      ? startService('api', apiEnv, { outputLimit: OUTPUT_LIMIT, nodeArgs })
      : startService(
          'api',
          {
            ...apiEnv,
            BENCH_CLUSTER_ENTRY: entry,
            BENCH_CLUSTER_PROCS: String(procs),
            BENCH_CLUSTER_PORT: String(port),
            BENCH_CLUSTER_NODE_ARGS: nodeArgs.join(' '),
          },
          { script: CLUSTER, outputLimit: OUTPUT_LIMIT },
        );
  if (procs > 1) await clusterListening(service, procs);
  await waitReady(service, `http://127.0.0.1:${opsPort}/readyz`, 90_000);
  return wrap(service, port, opsPort);
}

/** One worker process with its own ops port. */
export async function startWorker(
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<BenchService> {
  const opsPort = await freePort();
  const service = startService(
    'worker',
    { ...env, OPS_PORT: String(opsPort), OPS_HOST: '127.0.0.1' },
    { outputLimit: OUTPUT_LIMIT, nodeArgs },
  );
  // Ready = joined the consumer group.
  await waitReady(service, `http://127.0.0.1:${opsPort}/readyz`, 90_000);
  return wrap(service, 0, opsPort);
}

/** The do-nothing Express route, as many processes as the API gets. */
export async function startNoop(procs: number): Promise<BenchService> {
  const port = await freePort();
  const entry = path.join(root, 'bench/noop-server.ts');
  const service =
    procs === 1
      ? startService('api', { PORT: String(port) }, { script: entry, outputLimit: OUTPUT_LIMIT })
      : startService(
          'api',
          {
            PORT: String(port),
            BENCH_CLUSTER_ENTRY: entry,
            BENCH_CLUSTER_PROCS: String(procs),
            BENCH_CLUSTER_PORT: String(port),
          },
          { script: CLUSTER, outputLimit: OUTPUT_LIMIT },
        );
  if (procs > 1) await clusterListening(service, procs);
  await eventually(
    async () => {
      if (service.child.exitCode !== null) throw new Error(`exited:\n${service.output()}`);
      const res = await fetch(`http://127.0.0.1:${port}/api/logs`, { method: 'POST' }).catch(() => undefined);
      return res?.status === 202 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: 'the do-nothing route to answer' },
  );
  return wrap(service, port, 0);
}

/** Sums one counter over the /metrics of several processes (workers: one ops port each). */
export async function sumMetric(opsPorts: readonly number[], name: string): Promise<number> {
  const values = await Promise.all(
    opsPorts.map(async (port) => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    }),
  );
  return values.reduce((sum, value) => sum + value, 0);
}
