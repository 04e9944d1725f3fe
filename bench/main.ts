/**
 * `npm run bench [-- --quick] [--api-procs N] [--workers N] [--partitions P] [--out FILE]`
 *
 * Every figure beside its ceiling, measured in the same run on the same servers (env
 * KAFKA_BROKERS/MONGODB_URI, or the local stack): first the ceilings (a do-nothing Express
 * route, a raw kafkajs producer, the driver's insertMany), then this project's API and worker as
 * child processes. Progress on stderr, a table on stdout, the whole report as JSON (path printed).
 * Traffic goes to 127.0.0.1 only; every loop is bounded by count or time; topics and databases
 * are the run's own (random names) and are removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { mongo } from 'mongoose';
import {
  connectMongo,
  createKafka,
  createLogger,
  ensureTopics,
  LOGS_COLLECTION,
  PRODUCER_DEFAULTS,
  type ActivityEvent,
} from '@activity-logger/shared';
import { createKafkaPublisher, recordingPartitioner } from '../services/api/src/ingest/publisher';
import { provideServers } from '../test/setup/servers';
import { testKey } from '../test/support/api-keys';
import { uniqueName } from '../test/support/isolation';
import { measureApiQueries, type QueryTiming } from './api-queries';
import { rawInsertMany, rawProducer, runPool, type Throughput } from './ceilings';
import { storedLatency, visibleLatency } from './end-to-end';
import { activityEvent, clientEvent } from './events';
import { postLoad, type HttpLoad } from './http-load';
import { startUsage, type Usage } from './proc-usage';
import { Progress } from './progress';
import { printTable, storeReadLines, type Row } from './report';
import { measureStoreQueries } from './store-queries';
import { startApi, startNoop, startWorker, sumMetric, type BenchService } from './services';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'api-procs': { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    partitions: { type: 'string', default: '6' },
    'log-level': { type: 'string', default: 'info' },
    out: { type: 'string' },
    /** Skips 202 → visible and the GETs, which scan the whole store on the local stack (minutes at 100k). */
    'skip-reads': { type: 'boolean', default: false },
    /** KEY=VALUE for the api and worker processes (repeatable), to try a setting: --set PRODUCE_LINGER_MS=2 */
    set: { type: 'string', multiple: true, default: [] },
    /** Writes a V8 CPU profile of every api and worker process into this folder (node --cpu-prof). */
    profile: { type: 'string' },
    /** Stored events at which the store's own reads are timed (bench/store-queries.ts), comma-separated. */
    'store-counts': { type: 'string' },
  },
});
const quick = args.quick === true;
const overrides = Object.fromEntries(
  (args.set ?? []).map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--set takes KEY=VALUE, not ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
const apiProcs = Number(args['api-procs']);
const workerCount = Number(args.workers);
const partitions = Number(args.partitions);
for (const [name, value] of Object.entries({ apiProcs, workerCount, partitions })) {
  if (!Number.isInteger(value) || value < 1 || value > 64) throw new Error(`${name} must be an integer from 1 to 64`);
}

/** Counts and durations: --quick must finish in a minute or two on a shared 2-core machine. */
const SIZE = quick
  ? { httpSeconds: 3, producerMessages: 10_000, stored: 5_000, e2eSeconds: 3, settleMs: 15_000, repeats: 2 }
  : { httpSeconds: 15, producerMessages: 100_000, stored: 100_000, e2eSeconds: 20, settleMs: 60_000, repeats: 3 };
const SINGLE_CONNECTIONS = 50;
const BATCH_CONNECTIONS = 4;
const E2E_RATE = 500;
/** The driver ceiling writes as the worker does: unordered, about a fetch's worth at a time. */
const INSERT_PER_WRITE = 1000;
const RUN_TIMEOUT_MS = quick ? 600_000 : 1_800_000;

const progress = new Progress();
/** Steps that failed without ending the run (they read the store, which may be too slow). */
const failures: { step: string; error: string }[] = [];

async function attempt<T>(step: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    failures.push({ step, error: error instanceof Error ? error.message : String(error) });
    progress.step(`${step} failed: ${failures[failures.length - 1]?.error ?? ''}`);
    return undefined;
  }
}
const key = testKey('bench', ['ingest', 'read']);

/** CPU-seconds per 1,000 events, per role. */
const per1000 = (usage: Usage, events: number) => (events > 0 ? (usage.cpuSeconds / events) * 1000 : null);

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const servers = await provideServers(process.env);
  // kafkajs' own complaints would interleave with the table; a failure still throws.
  const logger = createLogger({ level: 'fatal', service: 'bench' });
  const kafka = createKafka({ brokers: servers.kafkaBrokers.split(','), clientId: 'bench', ssl: false }, logger);
  const admin = kafka.admin();
  await admin.connect();
  const run = uniqueName('bench');
  const topics = { ceiling: `${run}-ceiling`, ingest: `${run}-ingest`, stored: `${run}-stored` };
  const databases = { ceiling: `${run}-ceiling`, ingest: `${run}-ingest`, stored: `${run}-stored` };
  // The driver's ceilings for queries may scan 100k documents on a store without indexes.
  const mongoConnection = await connectMongo({
    uri: servers.mongoUri,
    dbName: databases.ceiling,
    socketTimeoutMs: 600_000,
  });
  const started: BenchService[] = [];
  /** Every process this run started, for a failure report. */
  const everyService: { name: string; service: BenchService }[] = [];
  const track = <T extends BenchService>(name: string, service: T): T => {
    everyService.push({ name, service });
    return service;
  };
  const stopAll = async () => {
    await Promise.all(started.splice(0).map((service) => service.stop()));
  };
  const deadline = setTimeout(() => {
    console.error(`bench: gave up after ${RUN_TIMEOUT_MS} ms`);
    for (const service of started) service.kill();
    process.exit(1);
  }, RUN_TIMEOUT_MS);

  // Written when each process exits (node --cpu-prof, which NODE_OPTIONS does not take).
  const nodeArgs = args.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`];
  const env = (topic: string, db: string): Record<string, string> => ({
    NODE_ENV: 'production',
    LOG_LEVEL: String(args['log-level']),
    KAFKA_BROKERS: servers.kafkaBrokers,
    MONGODB_URI: servers.mongoUri,
    MONGODB_DB: db,
    KAFKA_TOPIC: topic,
    KAFKA_TOPIC_PARTITIONS: String(partitions),
    KAFKA_GROUP_ID: `${topic}-group`,
    API_KEYS: key.line,
    CURSOR_SECRET: 'bench-cursor-secret-0123456789',
    // The pipeline is measured, not the limiter.
    RATE_LIMIT_INGEST_EVENTS: '100000000',
    RATE_LIMIT_READ_REQUESTS: '100000000',
    ...overrides,
  });

  try {
    await ensureTopics(
      admin,
      Object.values(topics).map((topic) => ({ topic, numPartitions: partitions })),
    );

    // ---- Ceilings --------------------------------------------------------------------------
    progress.step(`ceiling: do-nothing Express route, ${apiProcs} process(es), ${SINGLE_CONNECTIONS} connections`);
    const noop = track('do-nothing route', await startNoop(apiProcs));
    started.push(noop);
    const noopUsage = startUsage([noop.pid]);
    const noopLoad = await postLoad({
      url: `http://127.0.0.1:${noop.port}/api/logs`,
      body: JSON.stringify(clientEvent(0)),
      headers: key.header,
      connections: SINGLE_CONNECTIONS,
      seconds: SIZE.httpSeconds,
      onTick: (n) => progress.update(`ceiling: do-nothing route: ${n} requests`),
    });
    const noopCpu = noopUsage();
    await stopAll();

    // The store's own reads, through the API's reader, on a database of their own: at 100k and 1M
    // (a full run) they show what the local store's backend costs per query shape.
    const storeCounts = (args['store-counts'] ?? (quick ? '5000' : '100000,1000000')).split(',').map(Number);
    progress.step(`store reads at ${storeCounts.join(', ')} events`);
    const storeReads =
      (await attempt('store reads', () =>
        measureStoreQueries({
          mongoUri: servers.mongoUri,
          counts: storeCounts,
          budgetMs: quick ? 2_000 : 10_000,
          progress: (line) => progress.update(line),
        }),
      )) ?? [];

    const producerCeilings = new Map<number, Throughput>();
    for (const perSend of [100, 500]) {
      progress.step(`ceiling: raw kafkajs producer, ${perSend}/send, ${BATCH_CONNECTIONS} in flight, acks=all`);
      producerCeilings.set(
        perSend,
        await rawProducer(kafka, topics.ceiling, {
          messages: SIZE.producerMessages,
          perSend,
          concurrency: BATCH_CONNECTIONS,
          onProgress: (done) => progress.update(`ceiling: raw producer ${perSend}/send: ${done} messages`),
        }),
      );
    }

    // As many writes in flight as the workers keep: KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY (6 unless --set) each.
    const perWorker = Number(overrides.KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY ?? '6');
    const insertConcurrency = Math.min(partitions, perWorker) * workerCount;
    progress.step(`ceiling: driver insertMany, ${INSERT_PER_WRITE}/write, ${insertConcurrency} in flight`);
    const insertCeiling = await rawInsertMany(mongoConnection, LOGS_COLLECTION, {
      documents: SIZE.stored,
      perWrite: INSERT_PER_WRITE,
      concurrency: insertConcurrency,
      onProgress: (done) => progress.update(`ceiling: insertMany: ${done} documents`),
    });

    // ---- Ingest through the API --------------------------------------------------------------
    progress.step(`api: starting ${apiProcs} process(es)`);
    const ingestApi = track('api (ingest)', await startApi(env(topics.ingest, databases.ingest), apiProcs, nodeArgs));
    started.push(ingestApi);
    const apiUrl = `http://127.0.0.1:${ingestApi.port}`;
    const measureHttp = async (
      label: string,
      body: string,
      url: string,
      connections: number,
      rate?: number,
    ): Promise<{ load: HttpLoad; usage: Usage }> => {
      progress.step(label);
      const usage = startUsage([ingestApi.pid]);
      const load = await postLoad({
        url,
        body,
        headers: key.header,
        connections,
        seconds: SIZE.httpSeconds,
        ...(rate === undefined ? {} : { rate }),
        onTick: (n) => progress.update(`${label}: ${n} requests`),
      });
      return { load, usage: usage() };
    };
    // A short warm-up: connections, JIT and the producer's metadata are not part of the figure.
    await postLoad({
      url: `${apiUrl}/api/logs`,
      body: JSON.stringify(clientEvent(0)),
      headers: key.header,
      connections: 10,
      seconds: 1,
    });
    const single = await measureHttp(
      `api: POST /api/logs, ${SINGLE_CONNECTIONS} connections`,
      JSON.stringify(clientEvent(1)),
      `${apiUrl}/api/logs`,
      SINGLE_CONNECTIONS,
    );
    const halfRate = Math.max(1, Math.round(single.load.requestsPerSecond / 2));
    const singleHalf = await measureHttp(
      `api: POST /api/logs at half the maximum rate (${halfRate}/s)`,
      JSON.stringify(clientEvent(2)),
      `${apiUrl}/api/logs`,
      SINGLE_CONNECTIONS,
      halfRate,
    );
    const batches = new Map<number, { load: HttpLoad; usage: Usage }>();
    for (const size of [100, 500]) {
      batches.set(
        size,
        await measureHttp(
          `api: POST /api/logs/batch, ${size} events/body, ${BATCH_CONNECTIONS} connections`,
          JSON.stringify({ events: Array.from({ length: size }, (_, i) => clientEvent(i)) }),
          `${apiUrl}/api/logs/batch`,
          BATCH_CONNECTIONS,
        ),
      );
    }
    const apiRss = startUsage([ingestApi.pid])().rssMiB;
    await stopAll();

    // ---- The worker draining a backlog ---------------------------------------------------------
    progress.step(`worker: pre-filling ${SIZE.stored} events`);
    const partitioner = recordingPartitioner(PRODUCER_DEFAULTS.createPartitioner);
    const prefill = kafka.producer({ ...PRODUCER_DEFAULTS, createPartitioner: partitioner.createPartitioner });
    await prefill.connect();
    // Through the API's own publisher, so the backlog is exactly what the API would have produced.
    const publisher = createKafkaPublisher(
      prefill,
      { topic: topics.stored, lingerMs: 5, maxBatchBytes: 900_000, maxBatchEvents: 2000, ackTimeoutMs: 30_000 },
      { produced: () => undefined, failed: () => undefined },
      partitioner,
    );
    let known: ActivityEvent | undefined;
    let prefilled = 0;
    await runPool(Math.ceil(SIZE.stored / 500), 4, async (b) => {
      const events = Array.from({ length: 500 }, (_, i) => activityEvent(b * 500 + i, key.name));
      known ??= events[0];
      await publisher.publish(events, Date.now() + 60_000);
      prefilled += events.length;
      progress.update(`worker: pre-filled ${prefilled}`);
    });
    await publisher.close();
    await prefill.disconnect();

    progress.step(`worker: draining with ${workerCount} process(es), ${partitions} partitions`);
    const storedEnv = env(topics.stored, databases.stored);
    const workers = await Promise.all(
      Array.from({ length: workerCount }, async (_, n) =>
        track(`worker ${n + 1}`, await startWorker(storedEnv, nodeArgs)),
      ),
    );
    started.push(...workers);
    const workerPids = workers.map((w) => w.pid);
    const workerPorts = workers.map((w) => w.opsPort);
    const storedNow = () => sumMetric(workerPorts, 'worker_events_stored_total');
    const drainFrom = { at: performance.now(), stored: await storedNow() };
    const drainUsage = startUsage(workerPids);
    for (let stored = drainFrom.stored; stored < prefilled; stored = await storedNow()) {
      progress.update(`worker: ${stored} of ${prefilled} stored`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const drainSeconds = (performance.now() - drainFrom.at) / 1000;
    const drainCpu = drainUsage();
    const drained = prefilled - drainFrom.stored;
    const drain: Throughput = { count: drained, seconds: drainSeconds, perSecond: drained / drainSeconds };
    const batchSum = await sumMetric(workerPorts, 'worker_batch_size_sum');
    const batchCount = await sumMetric(workerPorts, 'worker_batch_size_count');

    // ---- End to end at a fixed rate, then queries at what is stored ----------------------------
    progress.step(`end to end: POST /api/logs at ${E2E_RATE} events/s for ${SIZE.e2eSeconds} s`);
    const storeApi = track('api (store)', await startApi(storedEnv, apiProcs, nodeArgs));
    started.push(storeApi);
    const storeUrl = `http://127.0.0.1:${storeApi.port}`;
    const storedConnection = mongoConnection.useDb(databases.stored);
    const storedCollection = storedConnection.db!.collection(LOGS_COLLECTION) as unknown as mongo.Collection<{
      _id: string;
    }>;
    const e2eUsage = { api: startUsage([storeApi.pid]), worker: startUsage(workerPids) };
    const stored = await storedLatency({
      api: storeUrl,
      auth: key.header,
      rate: E2E_RATE,
      seconds: SIZE.e2eSeconds,
      action: 'Bench_Stored',
      storedCounter: storedNow,
      source: key.name,
      collection: storedCollection,
      settleMs: SIZE.settleMs,
      onProgress: (text) => progress.update(text),
    });
    const e2eCpu = { api: e2eUsage.api(), worker: e2eUsage.worker() };
    progress.step(`end to end: visible through GET, ${E2E_RATE} events/s for ${SIZE.e2eSeconds} s`);
    const skipReads = args['skip-reads'] === true;
    const visible = skipReads
      ? undefined
      : await attempt('202 → visible', () =>
          visibleLatency({
            api: storeUrl,
            auth: key.header,
            rate: E2E_RATE,
            seconds: SIZE.e2eSeconds,
            action: 'Bench_Visible',
            settleMs: SIZE.settleMs,
            // About two sampled events a second.
            sampleEvery: E2E_RATE / 2,
            onProgress: (text) => progress.update(text),
          }),
        );

    const storedCount = await storedCollection.estimatedDocumentCount();
    progress.step(`queries through the API at ${storedCount} stored events`);
    const queries: QueryTiming[] = skipReads
      ? []
      : ((await attempt('queries', () =>
          measureApiQueries({
            api: storeUrl,
            auth: key.header,
            collection: storedCollection,
            knownEventId: known!.eventId,
            userId: known!.userId,
            repeats: SIZE.repeats,
            onProgress: (text) => progress.update(text),
          }),
        )) ?? []);
    await stopAll();

    // ---- Report ------------------------------------------------------------------------------
    const producer100 = producerCeilings.get(100)!;
    const producer500 = producerCeilings.get(500)!;
    const batch100 = batches.get(100)!;
    const batch500 = batches.get(500)!;
    const rows: Row[] = [
      {
        what: `POST /api/logs, ${SINGLE_CONNECTIONS} conn`,
        figure: single.load.requestsPerSecond,
        unit: 'req/s',
        ceiling: noopLoad.requestsPerSecond,
        ceilingWhat: 'do-nothing Express route',
        target: 0.5,
        p50: single.load.p50,
        p99: single.load.p99,
        errors: single.load.errors + single.load.non2xx,
        apiCpuPer1000: per1000(single.usage, single.load.ok),
        apiRssMiB: single.usage.rssMiB,
      },
      {
        what: `POST /api/logs at half rate (${halfRate}/s)`,
        figure: singleHalf.load.requestsPerSecond,
        unit: 'req/s',
        p50: singleHalf.load.p50,
        p99: singleHalf.load.p99,
        p99Target: 50,
        errors: singleHalf.load.errors + singleHalf.load.non2xx,
        apiCpuPer1000: per1000(singleHalf.usage, singleHalf.load.ok),
        apiRssMiB: singleHalf.usage.rssMiB,
      },
      ...[
        [100, batch100, producer100],
        [500, batch500, producer500],
      ].map(([size, measured, ceiling]) => {
        const { load, usage } = measured as { load: HttpLoad; usage: Usage };
        const events = load.ok * (size as number);
        return {
          what: `POST /api/logs/batch, ${size as number}/body`,
          figure: load.requestsPerSecond * (size as number),
          unit: 'events/s',
          ceiling: (ceiling as Throughput).perSecond,
          ceilingWhat: `raw kafkajs producer, ${size as number}/send`,
          target: 0.7,
          p50: load.p50,
          p99: load.p99,
          errors: load.errors + load.non2xx,
          apiCpuPer1000: per1000(usage, events),
          apiRssMiB: usage.rssMiB,
        } satisfies Row;
      }),
      {
        what: `worker drain, ${workerCount} proc, ${partitions} part`,
        figure: drain.perSecond,
        unit: 'events/s',
        ceiling: insertCeiling.perSecond,
        ceilingWhat: `driver insertMany ${INSERT_PER_WRITE}/write`,
        target: 0.9,
        workerCpuPer1000: per1000(drainCpu, drained),
        workerRssMiB: drainCpu.rssMiB,
      },
      {
        what: `202 → stored at ${E2E_RATE}/s (${stored.method})`,
        figure: null,
        unit: '',
        p50: stored.stored.p50,
        p99: stored.stored.p99,
        p99Target: 250,
        errors: stored.errors + stored.stored.missing,
        apiCpuPer1000: per1000(e2eCpu.api, stored.accepted),
        workerCpuPer1000: per1000(e2eCpu.worker, stored.accepted),
        apiRssMiB: e2eCpu.api.rssMiB,
        workerRssMiB: e2eCpu.worker.rssMiB,
      },
      {
        what: `202 → visible through GET at ${E2E_RATE}/s`,
        figure: null,
        unit: '',
        p50: visible?.visible.p50 ?? null,
        p99: visible?.visible.p99 ?? null,
        errors: visible === undefined ? (skipReads ? null : 1) : visible.errors + visible.visible.missing,
      },
      ...queries.map((q): Row => ({
        // A 503 is the API's query time limit answering, not a result: its time is no ratio.
        what: `GET ${q.name} at ${storedCount}${q.status === 200 ? '' : ` → ${q.status} after ${Math.round(q.apiMedian)} ms`}`,
        figure: q.status === 200 ? q.apiMedian : null,
        unit: 'ms',
        ceiling: q.driverMedian,
        ceilingWhat: 'the same query through the driver',
        lowerIsBetter: true,
        errors: q.status === 200 ? 0 : 1,
      })),
    ];

    const report = {
      startedAt: new Date(Date.now() - performance.now()).toISOString(),
      finishedAt: new Date().toISOString(),
      commit: gitCommit(),
      mode: quick ? 'quick' : 'full',
      options: { apiProcs, workers: workerCount, partitions, logLevel: args['log-level'], set: overrides },
      machine: {
        nproc: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        freeMemoryGiB: Math.round(freemem() / 2 ** 30),
        node: process.version,
        loadBefore,
        loadAfter: loadavg(),
      },
      settings: {
        singleConnections: SINGLE_CONNECTIONS,
        batchConnections: BATCH_CONNECTIONS,
        httpSeconds: SIZE.httpSeconds,
        producerMessages: SIZE.producerMessages,
        insertPerWrite: INSERT_PER_WRITE,
        insertConcurrency,
        storedEvents: SIZE.stored,
        e2eRate: E2E_RATE,
        e2eSeconds: SIZE.e2eSeconds,
      },
      ceilings: {
        noop: { ...noopLoad, cpuPer1000: per1000(noopCpu, noopLoad.ok), rssMiB: noopCpu.rssMiB },
        producer100,
        producer500,
        insertMany: insertCeiling,
      },
      project: {
        single,
        singleHalf: { ...singleHalf, rate: halfRate },
        batch100,
        batch500,
        apiRssMiB: apiRss,
        drain: { ...drain, cpu: drainCpu, averageBatch: batchCount > 0 ? batchSum / batchCount : null },
        endToEnd: { stored: { ...stored, cpu: e2eCpu }, visible },
        queries: { storedEvents: storedCount, timings: queries },
        storeReads,
      },
      rows,
      failures,
    };
    const out = args.out ?? path.join('bench', 'results', `bench-${report.mode}-${Date.now()}.json`);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    progress.step('done');
    printTable(rows, report.machine, report.options);
    for (const line of storeReadLines(storeReads)) console.log(line);
    for (const failure of failures) console.log(`failed: ${failure.step}: ${failure.error}`);
    // No thresholds on the figures, but a step that could not run fails the run.
    if (failures.length > 0) {
      process.exitCode = 1;
      for (const { name, service } of everyService) console.error(`\n--- ${name}: ${service.describe()}`);
    }
    console.log(`\nreport: ${path.resolve(out)}`);
  } catch (error) {
    for (const { name, service } of everyService) console.error(`\n--- ${name}: ${service.describe()}`);
    throw error;
  } finally {
    clearTimeout(deadline);
    await stopAll();
    // The worker made the stored topic's dead-letter topic.
    const ours = new Set([...Object.values(topics), `${topics.stored}.dlq`]);
    const made = await admin.listTopics().then(
      (all) => all.filter((topic) => ours.has(topic)),
      () => [],
    );
    if (made.length > 0) await admin.deleteTopics({ topics: made }).catch(() => undefined);
    await admin.disconnect();
    for (const db of Object.values(databases)) {
      await mongoConnection
        .useDb(db)
        .dropDatabase()
        .catch(() => undefined);
    }
    await mongoConnection.close();
    await servers.stop();
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
