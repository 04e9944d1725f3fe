import request from 'supertest';
import { mintEventId, toLogDocument, type ActivityEvent } from '@activity-logger/shared';
import { startTestApi, type TestApi } from './harness';

describe('GET /api/logs (real store)', () => {
  let api: TestApi;
  const events: ActivityEvent[] = [];

  beforeAll(async () => {
    api = await startTestApi();
    // 90 events over 30 distinct timestamps: three share each one, so pages must break ties by eventId.
    const base = Date.parse('2024-03-01T00:00:00.000Z');
    for (let i = 0; i < 90; i += 1) {
      events.push({
        eventId: mintEventId(),
        userId: `user-${i % 3}`,
        action: i % 2 === 0 ? 'Login' : 'Logout',
        metadata: { i },
        timestamp: new Date(base + Math.floor(i / 3) * 60_000),
        receivedAt: new Date(base + 10_000_000),
        traceId: `trace-${i}`,
      });
    }
    await api.model.collection.insertMany(events.map((event) => toLogDocument(event)) as never[]);
  });
  afterAll(async () => {
    await api.close();
  });

  const byNewest = (a: ActivityEvent, b: ActivityEvent) =>
    b.timestamp.getTime() - a.timestamp.getTime() || (a.eventId < b.eventId ? 1 : -1);

  async function allPages(query: Record<string, string>) {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: request.Response = await api.client
        .get('/api/logs')
        .query({ ...query, ...(cursor === null ? {} : { cursor }) });
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((e: { eventId: string }) => e.eventId));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 100);
    return { seen, pages };
  }

  it('returns the newest first, shaped as the contract says', async () => {
    const res = await api.client.get('/api/logs').query({ limit: '2' });
    expect(res.status).toBe(200);
    const newest = [...events].sort(byNewest)[0] as ActivityEvent;
    expect(res.body.data[0]).toEqual({
      eventId: newest.eventId,
      userId: newest.userId,
      action: newest.action,
      metadata: newest.metadata,
      timestamp: newest.timestamp.toISOString(),
      receivedAt: newest.receivedAt.toISOString(),
      traceId: newest.traceId,
    });
    expect(typeof res.body.nextCursor).toBe('string');
  });

  it('pages through everything without gaps or repeats, in both orders', async () => {
    const desc = await allPages({ limit: '7' });
    expect(desc.seen).toEqual([...events].sort(byNewest).map((e) => e.eventId));
    expect(desc.pages).toBe(13);

    const asc = await allPages({ limit: '10', order: 'asc' });
    expect(asc.seen).toEqual(
      [...events]
        .sort(byNewest)
        .reverse()
        .map((e) => e.eventId),
    );
  });

  it('filters by userId, action and a half-open time range, and pages within the filter', async () => {
    const from = '2024-03-01T00:05:00.000Z';
    const to = '2024-03-01T00:20:00.000Z';
    const expected = events
      .filter((e) => e.userId === 'user-1' && e.action === 'Logout')
      .filter((e) => e.timestamp >= new Date(from) && e.timestamp < new Date(to))
      .sort(byNewest)
      .map((e) => e.eventId);
    expect(expected.length).toBeGreaterThan(2);
    const { seen } = await allPages({ userId: 'user-1', action: 'Logout', from, to, limit: '2' });
    expect(seen).toEqual(expected);

    const epoch = await allPages({ action: 'Login', from: String(Date.parse(from)), limit: '500' });
    expect(epoch.seen).toEqual(
      events
        .filter((e) => e.action === 'Login' && e.timestamp >= new Date(from))
        .sort(byNewest)
        .map((e) => e.eventId),
    );
  });

  it('returns one event by id, and 404 for an unknown or impossible id', async () => {
    const target = events[42] as ActivityEvent;
    const found = await api.client.get(`/api/logs/${target.eventId}`);
    expect(found.status).toBe(200);
    expect(found.body.traceId).toBe('trace-42');

    expect((await api.client.get('/api/logs/no-such-event')).status).toBe(404);
    const impossible = await api.client.get(`/api/logs/${'x'.repeat(65)}`);
    expect(impossible.status).toBe(404);
    expect(impossible.body.error.code).toBe('NOT_FOUND');
  });

  it.each([
    ['limit above 500', { limit: '501' }, 'limit'],
    ['limit 0', { limit: '0' }, 'limit'],
    ['a non-numeric limit', { limit: 'ten' }, 'limit'],
    ['an unknown order', { order: 'random' }, 'order'],
    ['a bad date', { from: 'last week' }, 'from'],
    ['a date past year 9999', { from: '9999999999999999' }, 'from'],
    ['from after to', { from: '2024-03-02T00:00:00Z', to: '2024-03-01T00:00:00Z' }, 'from'],
    ['an unknown parameter', { sort: 'userId' }, 'sort'],
  ])('answers 400 for %s', async (_name, query, path) => {
    const res = await api.client.get('/api/logs').query(query);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('answers 400, never an operator, for userId[$ne]=x and repeated parameters', async () => {
    const injected = await api.client.get('/api/logs?userId[$ne]=x');
    expect(injected.status).toBe(400);
    const repeated = await api.client.get('/api/logs?userId=a&userId=b');
    expect(repeated.status).toBe(400);
    expect(repeated.body.error.details[0].path).toBe('userId');
  });

  it('answers 400 for a tampered cursor and for a cursor reused with other filters', async () => {
    const first = await api.client.get('/api/logs').query({ userId: 'user-0', limit: '5' });
    const cursor: string = first.body.nextCursor;
    const tampered = `${cursor.slice(0, 5)}${cursor[5] === 'A' ? 'B' : 'A'}${cursor.slice(6)}`;
    const bad = await api.client.get('/api/logs').query({ userId: 'user-0', limit: '5', cursor: tampered });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('cursor');

    const reused = await api.client.get('/api/logs').query({ userId: 'user-1', limit: '5', cursor });
    expect(reused.status).toBe(400);
    const same = await api.client.get('/api/logs').query({ userId: 'user-0', limit: '50', cursor });
    expect(same.status).toBe(200);
  });

  it('serves /healthz, /readyz and /metrics on the ops port, and none of them on the public one', async () => {
    expect((await request(api.opsUrl).get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await request(api.opsUrl).get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ http: 'ok', kafka: 'ok', mongodb: 'ok' });
    const metrics = await request(api.opsUrl).get('/metrics');
    expect(metrics.text).toContain('http_request_duration_seconds_bucket{');
    expect(metrics.text).toContain('route="/api/logs"');
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await request(api.app).get(path)).status).toBe(404);
  });
});
