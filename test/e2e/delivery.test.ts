import type { Connection } from 'mongoose';
import { connectMongo } from '@activity-logger/shared';
import { deleteTopics, testKafka } from '../support/kafka';
import { startService, freePort, waitReady, type ServiceProcess } from '../support/service-process';
import { eventually } from '../support/eventually';
import { testServers, uniqueName } from '../support/isolation';
import { testKey } from '../support/api-keys';

interface Receipt {
  state: string;
  storedAt?: string;
  deadLetter?: { reason: string; detail: string; state: string };
  pending?: { partition: number; offset: number; ahead: number };
  completeThrough: string | null;
}

interface Page {
  data: { eventId: string; userId: string; receivedAt: string; storedAt?: string }[];
  nextCursor: string | null;
  completeThrough: string | null;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/**
 * Issue 10 end to end, with the api and the worker as real processes over the real broker and
 * store: receipts under load (the latency is printed), a poison message's receipt, the freshness
 * watermark with the worker running and stopped, and erasures racing with events in flight.
 */
describe('end to end: receipts, watermark and erasure', () => {
  const servers = testServers();
  const client = testKey('e2e-client', ['ingest', 'read']);
  const admin = testKey('e2e-admin', ['admin']);
  const env = {
    API_KEYS: [client.line, admin.line].join(','),
    CURSOR_SECRET: 'e2e-cursor-secret-0123456789',
    KAFKA_BROKERS: servers.kafkaBrokers.join(','),
    MONGODB_URI: servers.mongoUri,
    MONGODB_DB: uniqueName('e2e-delivery'),
    KAFKA_TOPIC: uniqueName('e2e-delivery'),
    KAFKA_GROUP_ID: uniqueName('e2e-delivery-group'),
    KAFKA_TOPIC_PARTITIONS: '3',
    RATE_LIMIT_READ_REQUESTS: '100000000',
    RATE_LIMIT_INGEST_EVENTS: '100000000',
  };
  let api: ServiceProcess;
  let worker: ServiceProcess | undefined;
  let workerPort: number;
  let baseUrl: string;
  const workerCodes: (number | null)[] = [];

  async function startWorker(): Promise<void> {
    worker = startService('worker', { ...env, OPS_PORT: String(workerPort), OPS_HOST: '127.0.0.1' });
    await waitReady(worker, `http://127.0.0.1:${workerPort}/readyz`);
  }

  async function stopWorker(): Promise<void> {
    workerCodes.push((await worker?.stop()) ?? null);
    worker = undefined;
  }

  beforeAll(async () => {
    const [apiPort, apiOpsPort, opsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    baseUrl = `http://127.0.0.1:${apiPort}`;
    workerPort = opsPort;
    api = startService('api', { ...env, PORT: String(apiPort), HOST: '127.0.0.1', OPS_PORT: String(apiOpsPort) });
    await waitReady(api, `http://127.0.0.1:${apiOpsPort}/readyz`);
    await startWorker();
  });

  afterAll(async () => {
    const apiCode = await api?.stop();
    await stopWorker();
    const connection: Connection = await connectMongo({ uri: servers.mongoUri, dbName: env.MONGODB_DB });
    await connection.dropDatabase();
    await connection.close();
    await deleteTopics([env.KAFKA_TOPIC, `${env.KAFKA_TOPIC}.dlq`]);
    expect([apiCode, ...workerCodes]).toEqual([0, ...workerCodes.map(() => 0)]);
  });

  async function post(path: string, body: unknown) {
    const res = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...client.header },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      location: res.headers.get('location'),
      body: (await res.json()) as Record<string, unknown>,
    };
  }

  async function get<T>(path: string, key = client): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await fetch(`${baseUrl}${path}`, { headers: key.header });
    return { status: res.status, body: (await res.json()) as T, headers: res.headers };
  }

  const receipt = async (url: string) => (await get<Receipt>(url)).body;

  /** Waits until the watermark says everything accepted before `instant` is processed. */
  async function completeThrough(instant: Date, timeoutMs = 60_000): Promise<Date> {
    return eventually(
      async () => {
        const { body } = await get<Page>('/api/logs?limit=1');
        const through = body.completeThrough === null ? undefined : new Date(body.completeThrough);
        return through !== undefined && through >= instant ? through : undefined;
      },
      { timeoutMs, intervalMs: 50, what: `completeThrough to pass ${instant.toISOString()}` },
    );
  }

  /** Every stored event that matches `filter` (userId or action), through GET's pages. */
  async function allWhere(filter: Record<string, string>): Promise<Page['data']> {
    const events: Page['data'] = [];
    let cursor: string | null = null;
    do {
      const query: URLSearchParams = new URLSearchParams({
        ...filter,
        limit: '500',
        ...(cursor === null ? {} : { cursor }),
      });
      const { body }: { body: Page } = await get<Page>(`/api/logs?${query.toString()}`);
      events.push(...body.data);
      cursor = body.nextCursor;
    } while (cursor !== null);
    return events;
  }

  const allOf = (userId: string) => allWhere({ userId });

  it('says stored shortly after the 202, under a steady 200 events/s (receipt latency printed)', async () => {
    const total = 2000;
    const perTick = 10;
    const tickMs = 50; // 200 events/s
    const acceptedAt = new Map<string, number>(); // eventId → when its 202 arrived
    const urls = new Map<string, string>();
    const observed: number[] = []; // receipt polls: 202 → first "stored"
    const polls: Promise<void>[] = [];
    let pendingSeen = 0;

    /** Polls one receipt until it says stored; what it measures is what a client would see. */
    async function follow(eventId: string): Promise<void> {
      const url = urls.get(eventId) as string;
      for (;;) {
        const body = await receipt(url);
        if (body.state === 'stored') {
          observed.push(Date.now() - (acceptedAt.get(eventId) as number));
          return;
        }
        expect(body.state).toBe('pending');
        pendingSeen += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    const started = Date.now();
    for (let tick = 0; tick < total / perTick; tick += 1) {
      const due = started + tick * tickMs;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const answers = await Promise.all(
        Array.from({ length: perTick }, (_, i) =>
          post('/api/logs', { userId: `load-${(tick * perTick + i) % 97}`, action: 'Load', metadata: { tick, i } }),
        ),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(202);
        const eventId = answer.body.eventId as string;
        acceptedAt.set(eventId, Date.now());
        expect(answer.location).toBe(answer.body.statusUrl);
        urls.set(eventId, answer.body.statusUrl as string);
      }
      // Every 20th event's receipt is followed from its 202 on.
      if (tick % 2 === 0) polls.push(follow(answers[0]?.body.eventId as string));
    }
    const sendSeconds = (Date.now() - started) / 1000;
    await Promise.all(polls);

    // Every event: the worker's own storedAt against the 202, and its receipt says stored.
    await completeThrough(new Date(Math.max(...acceptedAt.values())));
    const stored: number[] = [];
    for (const event of await allWhere({ action: 'Load' })) {
      const accepted = acceptedAt.get(event.eventId);
      if (accepted !== undefined && event.storedAt !== undefined) stored.push(Date.parse(event.storedAt) - accepted);
    }
    expect(stored).toHaveLength(total);
    for (const url of [...urls.values()].slice(0, 50)) expect((await receipt(url)).state).toBe('stored');

    process.stdout.write(
      `e2e receipts: ${total} single POSTs in ${sendSeconds.toFixed(1)} s (${Math.round(total / sendSeconds)}/s); ` +
        `receipt says stored after the 202 (${observed.length} followed by polling every 20 ms): ` +
        `p50 ${percentile(observed, 50)} ms, p99 ${percentile(observed, 99)} ms, max ${Math.max(...observed)} ms; ` +
        `storedAt − 202 for all ${stored.length}: p50 ${percentile(stored, 50)} ms, p99 ${percentile(stored, 99)} ms ` +
        `(negative: stored before the 202 reached the client); ${pendingSeen} polls answered pending\n`,
    );
    expect(observed).toHaveLength(polls.length);
  });

  it('gives a poison message a dead_lettered receipt with its reason', async () => {
    const kafka = testKafka('e2e-poison');
    const producer = kafka.producer();
    await producer.connect();
    const eventId = uniqueName('poison');
    const [ack] = await producer.send({
      topic: env.KAFKA_TOPIC,
      acks: -1,
      messages: [{ key: 'poison-user', value: '{"v":1,"eventId":', headers: { 'event-id': eventId } }],
    });
    await producer.disconnect();
    const url = `/api/logs/${eventId}/status?at=${ack?.partition}:${ack?.baseOffset}`;
    const body = await eventually(
      async () => {
        const current = await receipt(url);
        return current.state === 'pending' ? undefined : current;
      },
      { what: 'the poison message to be dead-lettered' },
    );
    expect(body).toMatchObject({
      state: 'dead_lettered',
      deadLetter: { reason: 'unparseable', state: 'open', detail: expect.stringContaining('not JSON') as string },
    });
  });

  it('moves completeThrough while the worker runs; an empty recent answer reads "not yet" while it is stopped', async () => {
    // Running and idle: a 202's instant is covered within about a lag check (1 s) plus the API's cache.
    const lags: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const answer = await post('/api/logs', { userId: 'watermark-user', action: 'Tick' });
      const accepted = new Date();
      expect(answer.status).toBe(202);
      await completeThrough(accepted, 15_000);
      lags.push(Date.now() - accepted.getTime());
    }
    process.stdout.write(
      `e2e watermark: completeThrough passed a 202's instant after p50 ${percentile(lags, 50)} ms, ` +
        `max ${Math.max(...lags)} ms (idle topic, LAG_CHECK_INTERVAL_MS 1000, API cache 300 ms)\n`,
    );

    await stopWorker();
    const from = new Date();
    const answer = await post('/api/logs', { userId: 'while-stopped', action: 'Unseen' });
    expect(answer.status).toBe(202);
    // Nothing there, and the watermark says so: it is behind the window asked about, and stays so.
    for (let look = 0; look < 3; look += 1) {
      const { body, headers } = await get<Page>(`/api/logs?userId=while-stopped&from=${from.getTime() - 3000}`);
      expect(body.data).toEqual([]);
      expect(body.completeThrough).not.toBeNull();
      expect(new Date(body.completeThrough as string).getTime()).toBeLessThan(from.getTime());
      expect(headers.get('x-complete-through')).toBe(body.completeThrough);
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
    expect((await receipt(answer.body.statusUrl as string)).state).toBe('pending');

    await startWorker();
    await completeThrough(new Date());
    const { body } = await get<Page>(`/api/logs?userId=while-stopped`);
    expect(body.data.map((e) => e.eventId)).toEqual([answer.body.eventId]);
  });

  it('erases a user whose events are still in Kafka: none of those is stored, later ones are', async () => {
    const userId = uniqueName('erased');
    // Stored before: the erasure deletes them.
    const early = await post('/api/logs/batch', {
      events: Array.from({ length: 10 }, () => ({ userId, action: 'Early' })),
    });
    expect(early.status).toBe(202);
    await completeThrough(new Date());
    expect(await allOf(userId)).toHaveLength(10);

    // In flight: accepted while no worker runs, so they are certainly not stored when the erasure comes.
    await stopWorker();
    const inFlight = await post('/api/logs/batch', {
      events: Array.from({ length: 40 }, (_, i) => ({
        userId: i % 2 === 0 ? userId : `${userId}-bystander`,
        action: 'Pending',
      })),
    });
    expect(inFlight.status).toBe(202);
    const urls = inFlight.body.statusUrls as string[];
    expect((await receipt(urls[0] as string)).state).toBe('pending');

    const erased = await fetch(`${baseUrl}/api/users/${userId}/events`, { method: 'DELETE', headers: admin.header });
    expect(erased.status).toBe(200);
    const { erasure } = (await erased.json()) as { erasure: { id: string; requestedAt: string; deleted: number } };
    expect(erasure.deleted).toBe(10);

    const after = await post('/api/logs/batch', {
      events: Array.from({ length: 5 }, () => ({ userId, action: 'After' })),
    });
    expect(after.status).toBe(202);
    await startWorker();
    await completeThrough(new Date());

    const stored = await allOf(userId);
    expect(stored.map((e) => e.eventId).sort()).toEqual([...(after.body.eventIds as string[])].sort());
    expect(await allOf(`${userId}-bystander`)).toHaveLength(20);
    // The erased ones' receipts: the worker is past them and they are not kept.
    expect((await receipt(urls[0] as string)).state).toBe('removed');
    expect((await receipt(urls[1] as string)).state).toBe('stored');

    const list = await get<{ data: { id: string }[] }>(`/api/erasures?userId=${userId}`, admin);
    expect(list.body.data.map((e) => e.id)).toEqual([erasure.id]);
  });

  it('erases a user while their events stream in and the worker writes them: nothing received before it stays', async () => {
    const userId = uniqueName('racing');
    let erasure: { requestedAt: string } | undefined;
    const sentAfter: string[] = [];
    let total = 0;
    for (let round = 0; round < 30; round += 1) {
      const answer = await post('/api/logs/batch', {
        events: Array.from({ length: 20 }, (_, i) => ({ userId, action: 'Stream', metadata: { round, i } })),
      });
      expect(answer.status).toBe(202);
      total += 20;
      if (erasure !== undefined) sentAfter.push(...(answer.body.eventIds as string[]));
      if (round === 15) {
        const res = await fetch(`${baseUrl}/api/users/${userId}/events`, { method: 'DELETE', headers: admin.header });
        expect(res.status).toBe(200);
        ({ erasure } = (await res.json()) as { erasure: { requestedAt: string } });
      }
    }
    await completeThrough(new Date());
    const stored = await allOf(userId);
    const requestedAt = Date.parse(erasure?.requestedAt ?? '');
    const before = stored.filter((e) => Date.parse(e.receivedAt) < requestedAt);
    expect(before).toEqual([]);
    expect(stored.map((e) => e.eventId).sort()).toEqual(expect.arrayContaining([...sentAfter].sort()));
    expect(stored.length).toBeLessThan(total);
    expect(sentAfter.length).toBeGreaterThan(0);
  });
});
