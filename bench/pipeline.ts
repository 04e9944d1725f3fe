/**
 * `npm run bench`: rough throughput of the whole pipeline on this machine, with the real services
 * as separate processes over the real broker and store (env servers, or the local stack).
 *
 *   1. POST /api/logs/batch: BATCH_EVENTS events in batches of 500, BATCH_CONCURRENCY at a time;
 *   2. POST /api/logs: SINGLE_EVENTS single events, SINGLE_CONCURRENCY at a time (coalescing);
 *   3. the worker: how fast everything accepted above is stored.
 * Every loop is bounded by count and by BENCH_TIMEOUT_MS; traffic goes to 127.0.0.1 only.
 */
import { connectMongo, LOGS_COLLECTION } from '@activity-logger/shared';
import { provideServers } from '../test/setup/servers';
import { freePort, startService, waitReady, type ServiceProcess } from '../test/support/service-process';
import { uniqueName } from '../test/support/isolation';
import { testKey } from '../test/support/api-keys';

const BATCH_EVENTS = Number(process.env.BENCH_BATCH_EVENTS ?? 50_000);
const BATCH_CONCURRENCY = Number(process.env.BENCH_BATCH_CONCURRENCY ?? 4);
const SINGLE_EVENTS = Number(process.env.BENCH_SINGLE_EVENTS ?? 5_000);
const SINGLE_CONCURRENCY = Number(process.env.BENCH_SINGLE_CONCURRENCY ?? 50);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 300_000);

async function runPool(total: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

/** The bench's own key; its rate limit is raised so the pipeline, not the limiter, is measured. */
const key = testKey('bench', ['ingest', 'read']);

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...key.header },
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`POST ${url} answered ${res.status}: ${await res.text()}`);
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? NaN : Number(line.split(' ').pop());
}

async function main() {
  const servers = await provideServers(process.env);
  const db = uniqueName('bench');
  const env = {
    KAFKA_BROKERS: servers.kafkaBrokers,
    MONGODB_URI: servers.mongoUri,
    MONGODB_DB: db,
    KAFKA_TOPIC: uniqueName('bench'),
    KAFKA_GROUP_ID: uniqueName('bench-group'),
    LOG_LEVEL: 'warn',
    API_KEYS: key.line,
    CURSOR_SECRET: 'bench-cursor-secret-0123456789',
    RATE_LIMIT_INGEST_EVENTS: '100000000',
  };
  const [apiPort, apiOpsPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const api = `http://127.0.0.1:${apiPort}`;
  const apiOps = `http://127.0.0.1:${apiOpsPort}`;
  const processes: ServiceProcess[] = [];
  const mongo = await connectMongo({ uri: servers.mongoUri, dbName: db });
  const deadline = setTimeout(() => {
    console.error(`bench: gave up after ${TIMEOUT_MS} ms`);
    process.exit(1);
  }, TIMEOUT_MS);
  try {
    processes.push(
      startService('api', { ...env, PORT: String(apiPort), HOST: '127.0.0.1', OPS_PORT: String(apiOpsPort) }),
    );
    await waitReady(processes[0]!, `${apiOps}/readyz`);

    const start = Date.now();
    const batches = Math.ceil(BATCH_EVENTS / 500);
    await runPool(batches, BATCH_CONCURRENCY, (b) =>
      post(`${api}/api/logs/batch`, {
        events: Array.from({ length: 500 }, (_, i) => ({
          userId: `user-${(b * 500 + i) % 1000}`,
          action: 'Bench_Batch',
          metadata: { b, i, page: '/products/42', device: 'mobile' },
        })),
      }),
    );
    const batchSeconds = (Date.now() - start) / 1000;

    const producesBefore = await metric(`${apiOps}/metrics`, 'api_produce_batch_events_count');
    const singleStart = Date.now();
    await runPool(SINGLE_EVENTS, SINGLE_CONCURRENCY, (i) =>
      post(`${api}/api/logs`, { userId: `user-${i % 1000}`, action: 'Bench_Single', metadata: { i } }),
    );
    const singleSeconds = (Date.now() - singleStart) / 1000;
    const produces = (await metric(`${apiOps}/metrics`, 'api_produce_batch_events_count')) - producesBefore;
    const apiRss = await metric(`${apiOps}/metrics`, 'process_resident_memory_bytes');

    // The worker starts only now, so what it does is measured alone: draining a full backlog.
    const total = batches * 500 + SINGLE_EVENTS;
    const workerStart = Date.now();
    processes.push(startService('worker', { ...env, OPS_PORT: String(workerPort), OPS_HOST: '127.0.0.1' }));
    const collection = mongo.collection(LOGS_COLLECTION);
    let stored = 0;
    while (stored < total) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      stored = await collection.countDocuments();
    }
    const workerSeconds = (Date.now() - workerStart) / 1000;
    const workerRss = await metric(`http://127.0.0.1:${workerPort}/metrics`, 'process_resident_memory_bytes');

    const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US');
    console.log(
      `POST /api/logs/batch: ${batches * 500} events in ${batchSeconds.toFixed(1)} s = ${rate(batches * 500, batchSeconds)} events/s (batches of 500, ${BATCH_CONCURRENCY} concurrent)`,
    );
    console.log(
      `POST /api/logs:       ${SINGLE_EVENTS} events in ${singleSeconds.toFixed(1)} s = ${rate(SINGLE_EVENTS, singleSeconds)} events/s (${SINGLE_CONCURRENCY} concurrent; ${produces} produce requests, ${(SINGLE_EVENTS / produces).toFixed(1)} events each)`,
    );
    console.log(
      `worker:               ${total} events stored in ${workerSeconds.toFixed(1)} s = ${rate(total, workerSeconds)} events/s (backlog drain, from process start)`,
    );
    console.log(
      `memory (RSS):         api ${(apiRss / 2 ** 20).toFixed(0)} MiB, worker ${(workerRss / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    clearTimeout(deadline);
    await Promise.all(processes.map((p) => p.stop()));
    await mongo.dropDatabase().catch(() => undefined);
    await mongo.close();
    await servers.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
