/**
 * What the store's reads cost at a given size: fills a database of its own with generated events
 * (the indexes of log-model.ts, the document shape the worker writes) and times the reads the API
 * makes, through the API's own reader (services/api/src/query/log-reader.ts), so the query shapes
 * are exactly the ones GET sends. Also asks the server to `explain` each shape.
 *
 *   npx tsx bench/store-queries.ts [count ...]      (default 100000; MONGODB_URI or the local stack)
 *     STORE_QUERIES_DB=name STORE_QUERIES_KEEP=true   fill (or reuse) and keep a named database
 *     STORE_QUERIES_ONLY=byEventId,userIdPage         only these reads
 *
 * `measureStoreQueries` is what the benchmark calls; the database it fills is dropped at the end
 * unless `keep` is set.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Connection } from 'mongoose';
import {
  connectMongo,
  ensureQueryIndexes,
  logModel,
  toLogDocument,
  type ActivityEvent,
  type LogDocument,
} from '@activity-logger/shared';
import { createLogReader, type LogQuery, type PagePosition } from '../services/api/src/query/log-reader';

export interface StoreQueryOptions {
  readonly mongoUri: string;
  /** Stored events at which to measure, ascending; the collection grows from one to the next. */
  readonly counts: readonly number[];
  /** The database to fill (default: a new random name). */
  readonly database?: string;
  /** Keep the filled database (to measure it again later). */
  readonly keep?: boolean;
  /** Stop repeating one query after this long (default 10 s); every query runs at least once. */
  readonly budgetMs?: number;
  /** Only these reads (default: all); at 1M a full read takes minutes on the local store. */
  readonly only?: readonly QueryName[];
  /** Progress lines (default: stderr). */
  readonly progress?: (line: string) => void;
}

/** Median and slowest of the timed runs, in milliseconds; `runs` how many were timed. */
export interface Timing {
  readonly medianMs: number;
  readonly maxMs: number;
  readonly runs: number;
}

export type QueryName =
  'byEventId' | 'byEventIdApi' | 'userIdPage' | 'newestPage' | 'newestPageFrom' | 'deepCursorPage';

export interface StoreQueryResult {
  readonly count: number;
  /** What the server says it stores into (FerretDB reports its backend), or 'mongodb'. */
  readonly backend: string;
  readonly insertDocsPerSecond: number;
  readonly queries: Partial<Record<QueryName, Timing>>;
  /** The server's `explain` of each shape, reduced to what tells whether an index was used. */
  readonly explain: Partial<Record<QueryName, unknown>>;
}

const USERS = 1_000;
const ACTIONS = ['login', 'logout', 'view', 'click', 'purchase', 'search', 'share', 'comment'];
const SOURCES = ['web', 'mobile', 'backend'];
const PAGE = 50;
const INSERT_BATCH = 1_000;
/** Generated timestamps: one event a second going back from here. */
const NEWEST = Date.parse('2026-06-01T00:00:00Z');

function generatedEvent(i: number): ActivityEvent {
  return {
    eventId: randomUUID(),
    source: SOURCES[i % SOURCES.length],
    userId: `user-${i % USERS}`,
    action: ACTIONS[i % ACTIONS.length] ?? 'view',
    metadata: { page: `/p/${i % 97}`, n: i },
    timestamp: new Date(NEWEST - i * 1000),
    receivedAt: new Date(NEWEST - i * 1000 + 5),
    traceId: randomUUID().replaceAll('-', ''),
  };
}

export async function measureStoreQueries(options: StoreQueryOptions): Promise<StoreQueryResult[]> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(`store-queries: ${line}\n`));
  const database = options.database ?? `bench_store_${randomUUID().slice(0, 8)}`;
  // Slow reads (a full scan at 1M) must not be cut by the driver's socket timeout.
  const connection = await connectMongo({ uri: options.mongoUri, dbName: database, socketTimeoutMs: 600_000 });
  try {
    const model = logModel(connection);
    await ensureQueryIndexes(model);
    const backend = await backendOf(connection);
    const collection = connection.collection<LogDocument>(model.collection.collectionName);
    let stored = await collection.estimatedDocumentCount();
    const results: StoreQueryResult[] = [];
    for (const count of options.counts) {
      const started = performance.now();
      const added = count - stored;
      while (stored < count) {
        const size = Math.min(INSERT_BATCH, count - stored);
        const docs = Array.from({ length: size }, (_, k) => toLogDocument(generatedEvent(stored + k)));
        await collection.insertMany(docs, { ordered: false });
        stored += size;
        if (stored % 50_000 === 0) progress(`${stored} events stored`);
      }
      const insertDocsPerSecond = added > 0 ? Math.round(added / ((performance.now() - started) / 1000)) : NaN;
      progress(`measuring at ${count} events (${backend})`);
      results.push({ count, backend, insertDocsPerSecond, ...(await measureAt(connection, count, options, progress)) });
    }
    if (options.keep !== true) await connection.dropDatabase();
    return results;
  } finally {
    await connection.close();
  }
}

async function measureAt(
  connection: Connection,
  count: number,
  options: StoreQueryOptions,
  progress: (line: string) => void,
): Promise<Pick<StoreQueryResult, 'queries' | 'explain'>> {
  const model = logModel(connection);
  // The API's reader, with a limit far above any run here: the cost is measured, not cut.
  const reader = createLogReader(model, { timeoutMs: 600_000 });
  const collection = connection.collection<LogDocument>(model.collection.collectionName);
  const budgetMs = options.budgetMs ?? 10_000;
  // Ids and users spread over the collection: each run looks up a different one.
  const probe = (k: number) => Math.floor(((k * 7919) % 97) * (count / 97));
  const storedEventIds = await Promise.all(
    Array.from({ length: 8 }, async (_, k) => {
      const doc = await collection.findOne({ timestamp: new Date(NEWEST - probe(k) * 1000) });
      if (doc === null) throw new Error(`no event at position ${probe(k)}`);
      return doc.eventId;
    }),
  );
  // The position of the event halfway down the newest-first order: a page a reader gets to by
  // following cursors that far (the cursor carries exactly this).
  const middle = Math.floor(count / 2);
  const middleDoc = await collection.findOne({ timestamp: new Date(NEWEST - middle * 1000) });
  if (middleDoc === null) throw new Error('no event halfway down');
  const deep: PagePosition = { timestamp: middleDoc.timestamp, key: middleDoc._id };
  const newest: LogQuery = { order: 'desc', limit: PAGE };
  // The last hour only (3,600 events here), as a client that asks for a window would send it.
  const lastHour: LogQuery = { ...newest, from: new Date(NEWEST - 3_600_000) };

  const shapes: Record<QueryName, (k: number) => Promise<unknown>> = {
    // The `{eventId}` index lookup itself, as the MongoDB driver sends it.
    byEventId: (k) => collection.find({ eventId: storedEventIds[k % 8] }, { limit: PAGE }).toArray(),
    // GET /api/logs/:eventId as the API asks it (also finds events stored before sources).
    byEventIdApi: (k) => reader.findByEventId(storedEventIds[k % 8] ?? '', { limit: PAGE }),
    userIdPage: (k) => reader.find({ ...newest, userId: `user-${(k * 37) % USERS}` }),
    newestPage: () => reader.find(newest),
    newestPageFrom: () => reader.find(lastHour),
    deepCursorPage: () => reader.find({ ...newest, after: deep }),
  };
  const queries: Partial<Record<QueryName, Timing>> = {};
  for (const [name, run] of Object.entries(shapes) as Array<[QueryName, (k: number) => Promise<unknown>]>) {
    if (options.only !== undefined && !options.only.includes(name)) continue;
    queries[name] = await time(run, budgetMs);
    progress(`  ${name}: median ${queries[name]?.medianMs} ms (${queries[name]?.runs} runs)`);
  }

  const explained = {
    byEventId: () => collection.find({ eventId: storedEventIds[0] }).limit(PAGE).explain(),
    userIdPage: () =>
      collection
        .find({ userId: 'user-1' })
        .sort({ timestamp: -1, _id: -1 })
        .limit(PAGE + 1)
        .explain(),
    newestPage: () =>
      collection
        .find({})
        .sort({ timestamp: -1, _id: -1 })
        .limit(PAGE + 1)
        .explain(),
  } satisfies Partial<Record<QueryName, () => Promise<unknown>>>;
  const explain: Partial<Record<QueryName, unknown>> = {};
  for (const [name, run] of Object.entries(explained) as Array<[QueryName, () => Promise<unknown>]>) {
    explain[name] = await run().then(summarizeExplain, (error: unknown) => `explain failed: ${String(error)}`);
  }
  return { queries, explain };
}

async function time(run: (k: number) => Promise<unknown>, budgetMs: number): Promise<Timing> {
  await run(99); // warm: connection, plan cache, pages in memory
  const runs: number[] = [];
  const started = performance.now();
  while (runs.length < 15 && (runs.length === 0 || performance.now() - started < budgetMs)) {
    const t = performance.now();
    await run(runs.length);
    runs.push(performance.now() - t);
  }
  runs.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    medianMs: round(runs[Math.floor(runs.length / 2)] ?? NaN),
    maxMs: round(runs.at(-1) ?? NaN),
    runs: runs.length,
  };
}

/**
 * FerretDB (1.x) answers `explain` with its pushdown flags and the backend's own plan; MongoDB
 * with a winning plan of stages. Either way, what matters is kept: was the filter, the sort, the
 * limit given to the store, and which index or scan served it.
 */
function summarizeExplain(answer: unknown): unknown {
  const doc = answer as Record<string, unknown>;
  if ('pushdown' in doc || 'filterPushdown' in doc || 'sortingPushdown' in doc) {
    const plan = JSON.stringify(doc.queryPlanner ?? {});
    return {
      filterPushdown: doc.filterPushdown ?? doc.pushdown,
      sortPushdown: doc.sortPushdown ?? doc.sortingPushdown,
      limitPushdown: doc.limitPushdown,
      // The backend's plan, reduced to its node types and index names.
      planNodes: [...plan.matchAll(/"(Node Type|Index Name|Filter|Index Cond)":"((?:[^"\\]|\\.)*)"/g)].map(
        (m) => `${m[1]}: ${(m[2] ?? '').replaceAll('\\"', '"')}`,
      ),
    };
  }
  const planner = doc.queryPlanner as { winningPlan?: unknown } | undefined;
  return { winningPlan: planner?.winningPlan ?? doc };
}

async function backendOf(connection: Connection): Promise<string> {
  const admin = connection.db?.admin();
  const info = (await admin?.command({ buildInfo: 1 })) as { ferretdbVersion?: string } | undefined;
  if (info?.ferretdbVersion === undefined) return 'mongodb';
  // FerretDB names its backend only here: "Powered by FerretDB v1.24.2 and PostgreSQL 15.18."
  const warnings = (await admin?.command({ getLog: 'startupWarnings' }).catch(() => undefined)) as
    { log?: unknown[] } | undefined;
  // Each entry is a log line in JSON, the sentence in its `msg`.
  const sentence = (entry: unknown) => {
    try {
      return String((JSON.parse(String(entry)) as { msg?: unknown }).msg);
    } catch {
      return String(entry);
    }
  };
  const powered = warnings?.log?.map(sentence).find((line) => line.includes('Powered by'));
  return powered?.match(/Powered by (.*?)\.?$/)?.[1] ?? `FerretDB ${info.ferretdbVersion}`;
}

if (require.main === module) {
  const counts = process.argv.slice(2).map(Number);
  measureStoreQueries({
    mongoUri: process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017',
    counts: counts.length > 0 ? counts : [100_000],
    keep: process.env.STORE_QUERIES_KEEP === 'true',
    ...(process.env.STORE_QUERIES_DB === undefined ? {} : { database: process.env.STORE_QUERIES_DB }),
    ...(process.env.STORE_QUERIES_ONLY === undefined
      ? {}
      : { only: process.env.STORE_QUERIES_ONLY.split(',') as QueryName[] }),
  }).then(
    (results) => console.log(JSON.stringify(results, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
