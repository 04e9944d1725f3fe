import type { Connection } from 'mongoose';
import { connectMongo } from '@activity-logger/shared';
import { deleteTopics } from '../support/kafka';
import { startService, freePort, waitReady, type ServiceProcess } from '../support/service-process';
import { eventually } from '../support/eventually';
import { testServers, uniqueName } from '../support/isolation';
import { testKey } from '../support/api-keys';

/**
 * The whole system as separate processes: the api and the worker, started from their main.ts,
 * over the real broker and store. Events go in through both POST endpoints and must come out of
 * GET exactly once, each with the traceId its POST answered.
 */
describe('end to end: POST → Kafka → worker → store → GET', () => {
  const servers = testServers();
  const key = testKey('e2e', ['ingest', 'read']);
  const env = {
    API_KEYS: key.line,
    CURSOR_SECRET: 'e2e-cursor-secret-0123456789',
    KAFKA_BROKERS: servers.kafkaBrokers.join(','),
    MONGODB_URI: servers.mongoUri,
    MONGODB_DB: uniqueName('e2e'),
    KAFKA_TOPIC: uniqueName('e2e'),
    KAFKA_GROUP_ID: uniqueName('e2e-group'),
  };
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let baseUrl: string;

  beforeAll(async () => {
    const [apiPort, apiOpsPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
    baseUrl = `http://127.0.0.1:${apiPort}`;
    api = startService('api', { ...env, PORT: String(apiPort), HOST: '127.0.0.1', OPS_PORT: String(apiOpsPort) });
    await waitReady(api, `http://127.0.0.1:${apiOpsPort}/readyz`);
    worker = startService('worker', { ...env, OPS_PORT: String(workerPort), OPS_HOST: '127.0.0.1' });
    await waitReady(worker, `http://127.0.0.1:${workerPort}/readyz`);
  });

  afterAll(async () => {
    const codes = await Promise.all([api?.stop(), worker?.stop()]);
    // The services created the database and both topics; nothing of this run is left behind.
    const connection: Connection = await connectMongo({ uri: servers.mongoUri, dbName: env.MONGODB_DB });
    await connection.dropDatabase();
    await connection.close();
    await deleteTopics([env.KAFKA_TOPIC, `${env.KAFKA_TOPIC}.dlq`]);
    expect(codes).toEqual([0, 0]);
  });

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...key.header, ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('stores 5,000 events sent through both endpoints exactly once, each with its traceId', async () => {
    const expected = new Map<string, string>(); // eventId → traceId
    const started = Date.now();

    // 2,500 through the batch endpoint: 5 requests of 500, with the caller's X-Request-Id as traceId.
    for (let b = 0; b < 5; b += 1) {
      const events = Array.from({ length: 500 }, (_, i) => ({
        userId: `user-${(b * 500 + i) % 50}`,
        action: 'Batch_Event',
        metadata: { b, i },
      }));
      const res = await post('/api/logs/batch', { events }, { 'x-request-id': `batch-${b}` });
      expect(res.status).toBe(202);
      for (const id of res.body.eventIds as string[]) expected.set(id, `batch-${b}`);
    }
    const batchSeconds = (Date.now() - started) / 1000;

    // 2,500 single events, 50 requests at a time, each with a generated traceId.
    for (let wave = 0; wave < 50; wave += 1) {
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          post('/api/logs', { userId: `user-${i}`, action: 'Single_Event', metadata: { wave, i } }),
        ),
      );
      for (const res of responses) {
        expect(res.status).toBe(202);
        expected.set(res.body.eventId as string, res.body.traceId as string);
      }
    }
    expect(expected.size).toBe(5000);

    const seen = await eventually(
      async () => {
        const all = await readAll();
        return all.length >= 5000 ? all : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 1000, what: '5,000 stored events' },
    );
    const storedSeconds = (Date.now() - started) / 1000;
    // Exactly once, counted by what the client sent (action and metadata), not by the store's key.
    const sent = seen.map((e) => `${e.action}:${JSON.stringify(e.metadata)}`);
    expect(sent.length).toBe(5000);
    expect(new Set(sent).size).toBe(5000);
    for (const event of seen) expect(event.traceId).toBe(expected.get(event.eventId));

    process.stdout.write(
      `e2e: 2,500 events via POST /api/logs/batch in ${batchSeconds.toFixed(2)} s ` +
        `(${Math.round(2500 / batchSeconds)} events/s); all 5,000 stored ${storedSeconds.toFixed(1)} s after the first POST\n`,
    );
  });

  it('reads the events of one request back in the order they were sent, with server-minted ids', async () => {
    const requests = Array.from({ length: 10 }, (_, r) => ({
      userId: uniqueName(`order-${r}`),
      actions: Array.from({ length: 5 }, (_, i) => `Step_${i}`),
    }));
    for (const { userId, actions } of requests) {
      const res = await post('/api/logs/batch', { events: actions.map((action) => ({ userId, action })) });
      expect(res.status).toBe(202);
    }
    for (const { userId, actions } of requests) {
      const stored = await eventually(
        async () => {
          const res = await fetch(`${baseUrl}/api/logs?userId=${userId}&order=asc`, { headers: key.header });
          const page = (await res.json()) as { data: { action: string }[] };
          return page.data.length === actions.length ? page.data : undefined;
        },
        { timeoutMs: 30_000, what: `the events of ${userId}` },
      );
      expect(stored.map((event) => event.action)).toEqual(actions);
    }
  });

  async function readAll() {
    const events: { eventId: string; traceId: string; action: string; metadata: unknown }[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: '500', order: 'asc', ...(cursor === null ? {} : { cursor }) });
      const res = await fetch(`${baseUrl}/api/logs?${query.toString()}`, { headers: key.header });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: typeof events; nextCursor: string | null };
      events.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return events;
  }
});
