import request from 'supertest';
import { testKey } from '../../../test/support/api-keys';
import { loadApiConfig } from '../src/config';
import { startTestApi, type TestApi } from './harness';

describe('per-key rate limits (real Kafka and store)', () => {
  // One window for the whole file: a test never runs into the next one.
  const limits = { windowSeconds: 600, ingestEvents: 10, readRequests: 3 };
  const other = testKey('other', ['ingest', 'read']);
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ rateLimits: limits, keys: [other] });
  });
  afterAll(async () => {
    await api.close();
  });

  const events = (n: number) => ({ events: Array.from({ length: n }, (_, i) => ({ userId: `u${i}`, action: 'a' })) });

  function expectHeaders(res: request.Response, limit: number, remaining: number) {
    expect(res.headers['ratelimit-limit']).toBe(String(limit));
    expect(res.headers['ratelimit-remaining']).toBe(String(remaining));
    expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThan(0);
    expect(Number(res.headers['ratelimit-reset'])).toBeLessThanOrEqual(limits.windowSeconds);
    expect(res.headers['ratelimit-policy']).toBe(`${limit};w=${limits.windowSeconds}`);
  }

  it('counts ingest in events, refuses what exceeds the rest with 429, and charges refused bodies by size', async () => {
    const six = await api.client.post('/api/logs/batch').send(events(6));
    expect(six.status).toBe(202);
    expectHeaders(six, 10, 4);

    // An invalid request costs what reading it cost: one event per KiB of body, at least one.
    const invalid = await api.client.post('/api/logs/batch').send({ events: [{ userId: 'u' }] });
    expect(invalid.status).toBe(400);

    const four = await api.client.post('/api/logs/batch').send(events(4));
    expect(four.status).toBe(429);
    expect(four.body.error.code).toBe('RATE_LIMITED');
    expect(Number(four.headers['retry-after'])).toBeGreaterThan(0);
    expectHeaders(four, 10, 3);

    const three = await api.client.post('/api/logs/batch').send(events(3));
    expect(three.status).toBe(202);
    expectHeaders(three, 10, 0);

    // Exhausted: refused before the body is even read (here, one that is not JSON).
    const next = await api.client.post('/api/logs').set('Content-Type', 'application/json').send('{broken');
    expect(next.status).toBe(429);
    expect(next.headers['retry-after']).toBeDefined();

    // Another key has a budget of its own.
    expect((await request(api.app).post('/api/logs').set(other.header).send({ userId: 'u', action: 'a' })).status).toBe(
      202,
    );
  });

  it('makes a key that sends large invalid bodies run out, as if it had sent events', async () => {
    const noisy = testKey('noisy', ['ingest']);
    const limited = await startTestApi({
      rateLimits: { windowSeconds: 600, ingestEvents: 100, readRequests: 3 },
      keys: [noisy],
    });
    try {
      // ~30 KiB of metadata the schema refuses (deeper than 10 levels): 400, charged ~30 each.
      let nested: unknown = { x: 'y'.repeat(30_000) };
      for (let depth = 0; depth < 12; depth += 1) nested = { d: nested };
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const res = await request(limited.app)
          .post('/api/logs')
          .set(noisy.header)
          .send({ userId: 'u', action: 'a', metadata: nested });
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 3)).toEqual([400, 400, 400]);
      expect(statuses.slice(3)).toContain(429);
    } finally {
      await limited.close();
    }
  });

  it('says so when one batch is larger than the whole budget', async () => {
    const res = await request(api.app).post('/api/logs/batch').set(other.header).send(events(11));
    expect(res.status).toBe(429);
    expect(res.body.error.message).toMatch(/at most 10 events/);
  });

  it('counts reads in requests', async () => {
    for (let i = 0; i < 3; i += 1) {
      const res = await api.client.get('/api/logs').query({ limit: '1' });
      expect(res.status).toBe(200);
      expectHeaders(res, 3, 2 - i);
    }
    const refused = await api.client.get('/api/logs/any-id');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expectHeaders(refused, 3, 0);
    expect((await request(api.app).get('/api/logs').set(other.header)).status).toBe(200);
  });
});

describe('the default ingest limit (real Kafka and store)', () => {
  // The limits a deployment gets when it sets none, read from the config schema itself.
  const defaults = loadApiConfig({
    KAFKA_BROKERS: '127.0.0.1:9092',
    MONGODB_URI: 'mongodb://127.0.0.1:27017/x',
    API_KEYS: `web:ingest:${'ab'.repeat(32)}`,
    CURSOR_SECRET: 'rate-limit-test-cursor-secret',
  }).rateLimits;
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ rateLimits: defaults });
  });
  afterAll(async () => {
    await api.close();
  });

  it('lets one key send its window budget as fast as it can, then answers 429 until the window ends', async () => {
    const batch = {
      events: Array.from({ length: 500 }, (_, i) => ({ userId: `u${i % 20}`, action: 'Burst', metadata: { i } })),
    };
    const started = performance.now();
    let accepted = 0;
    let refused: request.Response | undefined;
    for (let i = 0; i < 100 && refused === undefined; i += 1) {
      const res = await api.client.post('/api/logs/batch').send(batch);
      if (res.status === 202) accepted += batch.events.length;
      else refused = res;
    }
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `rate-limit: one key sent ${accepted} events in ${seconds.toFixed(2)} s ` +
        `(${Math.round(accepted / seconds)} events/s) before a 429 with Retry-After ${refused?.headers['retry-after']} s; ` +
        `sustained ${defaults.ingestEvents / defaults.windowSeconds} events/s (${defaults.ingestEvents} per ${defaults.windowSeconds} s)\n`,
    );
    expect(accepted).toBe(defaults.ingestEvents);
    expect(refused?.status).toBe(429);
    expect(Number(refused?.headers['retry-after'])).toBeLessThanOrEqual(defaults.windowSeconds);
  });
});
