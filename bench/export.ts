/**
 * `npm run bench:export`: the export rate of GET /api/logs/export against the real store, through
 * the real API process. EXPORT_EVENTS events (100,000 by default, ~300 bytes each as NDJSON) are
 * written straight into a fresh database, then exported as NDJSON and as CSV; each export is
 * counted (it must return exactly EXPORT_EVENTS rows) and timed from request to last byte.
 */
import { connectMongo, ensureQueryIndexes, logModel, toLogDocument } from '@activity-logger/shared';
import { provideServers } from '../test/setup/servers';
import { freePort, startService, waitReady, type ServiceProcess } from '../test/support/service-process';
import { uniqueName } from '../test/support/isolation';
import { testKey } from '../test/support/api-keys';

const EVENTS = Number(process.env.EXPORT_EVENTS ?? 100_000);
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 600_000);
const key = testKey('bench', ['read']);

async function exportOnce(api: string, format: 'ndjson' | 'csv') {
  const start = process.hrtime.bigint();
  const res = await fetch(`${api}/api/logs/export?format=${format}`, { headers: key.header });
  if (res.status !== 200 || res.body === null) throw new Error(`export answered ${res.status}: ${await res.text()}`);
  let bytes = 0;
  let newlines = 0;
  let firstByte: bigint | undefined;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    firstByte ??= process.hrtime.bigint();
    bytes += chunk.length;
    for (const byte of chunk) if (byte === 10) newlines += 1;
  }
  const end = process.hrtime.bigint();
  const seconds = Number(end - start) / 1e9;
  // Before the first byte the store sorts everything matched; after it, batches stream.
  const firstByteSeconds = Number((firstByte ?? end) - start) / 1e9;
  // NDJSON: a line per event; CSV: a header line more (no field holds a raw newline here).
  const rows = format === 'csv' ? newlines - 1 : newlines;
  if (rows !== EVENTS) throw new Error(`${format} export returned ${rows} rows, expected ${EVENTS}`);
  return { seconds, firstByteSeconds, bytes, rows };
}

async function main() {
  const servers = await provideServers(process.env);
  const db = uniqueName('bench-export');
  const mongo = await connectMongo({ uri: servers.mongoUri, dbName: db });
  const processes: ServiceProcess[] = [];
  const deadline = setTimeout(() => {
    console.error(`bench: gave up after ${TIMEOUT_MS} ms`);
    process.exit(1);
  }, TIMEOUT_MS);
  try {
    const model = logModel(mongo);
    await ensureQueryIndexes(model);
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    const fillStart = Date.now();
    for (let start = 0; start < EVENTS; start += 5000) {
      const docs = Array.from({ length: Math.min(5000, EVENTS - start) }, (_, j) => {
        const i = start + j;
        return toLogDocument(
          {
            eventId: `bench-${i}`,
            userId: `user-${i % 1000}`,
            action: i % 7 === 0 ? '=cmd' : 'Bench_Export',
            metadata: { i, page: '/products/42', device: 'mobile', note: 'a, "quoted" cell' },
            timestamp: new Date(base + i * 10),
            receivedAt: new Date(base + i * 10 + 5),
            traceId: `trace-${i}`,
            source: 'bench',
          },
          { partition: i % 6, offset: Math.floor(i / 6), storedAt: new Date() },
        );
      });
      await model.collection.insertMany(docs as never[], { ordered: false });
    }
    console.log(`filled ${EVENTS} events in ${((Date.now() - fillStart) / 1000).toFixed(1)} s`);

    const [port, opsPort] = await Promise.all([freePort(), freePort()]);
    processes.push(
      startService('api', {
        KAFKA_BROKERS: servers.kafkaBrokers,
        MONGODB_URI: servers.mongoUri,
        MONGODB_DB: db,
        KAFKA_TOPIC: uniqueName('bench-export'),
        LOG_LEVEL: 'warn',
        API_KEYS: key.line,
        CURSOR_SECRET: 'bench-cursor-secret-0123456789',
        PORT: String(port),
        HOST: '127.0.0.1',
        OPS_PORT: String(opsPort),
        // FerretDB on SQLite sorts the whole match before the first batch (~30 s for 100,000
        // events here), longer than the driver's default 30 s socket timeout.
        MONGODB_SOCKET_TIMEOUT_MS: '300000',
      }),
    );
    await waitReady(processes[0]!, `http://127.0.0.1:${opsPort}/readyz`);
    const api = `http://127.0.0.1:${port}`;
    for (const format of ['ndjson', 'csv'] as const) {
      const { seconds, firstByteSeconds, bytes, rows } = await exportOnce(api, format);
      const streaming = seconds - firstByteSeconds;
      console.log(
        `export ${format.padEnd(6)}: ${rows} events, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(2)} s = ` +
          `${Math.round(rows / seconds).toLocaleString('en-US')} events/s, ${(bytes / 2 ** 20 / seconds).toFixed(1)} MiB/s ` +
          `(first byte after ${firstByteSeconds.toFixed(1)} s; after it ` +
          `${Math.round(rows / streaming).toLocaleString('en-US')} events/s, ${(bytes / 2 ** 20 / streaming).toFixed(1)} MiB/s)`,
      );
    }
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
