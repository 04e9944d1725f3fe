/**
 * Runs N copies of a server behind one port with Node's cluster module, for the bench's
 * `--api-procs N` (the production entry stays single-process: in Kubernetes a pod is the unit
 * of scale). The primary only distributes connections (round-robin) and relays SIGTERM.
 *
 *   BENCH_CLUSTER_ENTRY  the script each process runs (loaded through tsx)
 *   BENCH_CLUSTER_PROCS  how many processes
 *   BENCH_CLUSTER_PORT   the public port: "listening" is printed once every process listens on it
 *   BENCH_CLUSTER_NODE_ARGS  extra node flags for each process, space-separated (--cpu-prof …)
 */
import cluster from 'node:cluster';

const entry = process.env.BENCH_CLUSTER_ENTRY;
const procs = Number(process.env.BENCH_CLUSTER_PROCS ?? '1');
const port = Number(process.env.BENCH_CLUSTER_PORT ?? '0');
if (entry === undefined || !Number.isInteger(procs) || procs < 1) {
  console.error('bench cluster: BENCH_CLUSTER_ENTRY and a positive BENCH_CLUSTER_PROCS are required');
  process.exit(2);
}

const nodeArgs = (process.env.BENCH_CLUSTER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
cluster.setupPrimary({ exec: entry, execArgv: [...nodeArgs, '--import', 'tsx'] });
let listening = 0;
let stopping = false;
cluster.on('listening', (_worker, address) => {
  if (address.port !== port) return;
  listening += 1;
  if (listening === procs) console.log(`bench cluster: ${procs} processes listening on port ${port}`);
});
cluster.on('exit', (worker, code, signal) => {
  if (!stopping) {
    console.error(`bench cluster: process ${worker.process.pid} exited (${signal ?? code}); stopping all`);
    stop();
  }
  if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(stopping ? 0 : 1);
});

function stop(): void {
  stopping = true;
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
for (let i = 0; i < procs; i += 1) cluster.fork();
