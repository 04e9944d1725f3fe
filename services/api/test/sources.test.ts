import request from 'supertest';
import { toLogDocument, type ActivityEvent } from '@activity-logger/shared';
import { testKey } from '../../../test/support/api-keys';
import { startTestApi, type TestApi } from './harness';

/**
 * Each key's eventIds are its own: the store key is (source, eventId), so a key can never
 * suppress another key's event by reusing its id, and GET says whose event it returns.
 */
describe('sources and per-key eventIds (real store)', () => {
  const reader = testKey('reader', ['read']);
  let api: TestApi;
  const base = { action: 'Order', timestamp: new Date('2024-05-01T00:00:00Z'), receivedAt: new Date(), traceId: 't' };
  const shop: ActivityEvent = { ...base, eventId: 'order-X', userId: 'alice', source: 'shop' };
  const rogue: ActivityEvent = { ...base, eventId: 'order-X', userId: 'mallory', source: 'rogue' };

  beforeAll(async () => {
    api = await startTestApi({ keys: [reader] });
    // As the worker writes them: one unordered insert per document, a duplicate being 11000.
    await api.model.collection.insertMany([toLogDocument(shop), toLogDocument(rogue)] as never[], { ordered: false });
  });
  afterAll(async () => {
    await api.close();
  });

  it('stores the same eventId from two keys as two events, and a repeat from one key as a duplicate', async () => {
    expect(await api.model.collection.countDocuments({ eventId: 'order-X' })).toBe(2);
    const repeat = api.model.collection.insertOne(toLogDocument({ ...shop, userId: 'changed' }) as never);
    await expect(repeat).rejects.toMatchObject({ code: 11000 });
  });

  it('filters GET /api/logs by source and returns each event with its source', async () => {
    const res = await request(api.app).get('/api/logs').query({ source: 'shop' }).set(reader.header);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([expect.objectContaining({ eventId: 'order-X', userId: 'alice', source: 'shop' })]);
    const all = await request(api.app).get('/api/logs').set(reader.header);
    expect(all.body.data.map((e: { source: string }) => e.source).sort()).toEqual(['rogue', 'shop']);
    const bad = await request(api.app).get('/api/logs').query({ source: 'no/slash' }).set(reader.header);
    expect(bad.status).toBe(400);
  });

  it('answers 409 naming the sources when an eventId is ambiguous, and the event with ?source=', async () => {
    const ambiguous = await request(api.app).get('/api/logs/order-X').set(reader.header);
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body.error.code).toBe('AMBIGUOUS_EVENT_ID');
    expect(ambiguous.body.error.details.map((d: { message: string }) => d.message).sort()).toEqual(['rogue', 'shop']);

    const mine = await request(api.app).get('/api/logs/order-X').query({ source: 'shop' }).set(reader.header);
    expect(mine.status).toBe(200);
    expect(mine.body.userId).toBe('alice');
    expect(
      (await request(api.app).get('/api/logs/order-X').query({ source: 'nobody' }).set(reader.header)).status,
    ).toBe(404);
  });

  it('finds an eventId stored without a source, and one stored before sources existed, beside sourced ones', async () => {
    // Auth disabled: no source, the bare eventId is the store key.
    const open: ActivityEvent = { ...base, eventId: 'open-1', userId: 'olga' };
    // Stored before sources existed: no eventId field at all, only the bare _id.
    const legacy: Record<string, unknown> = { ...toLogDocument({ ...base, eventId: 'legacy-1', userId: 'lee' }) };
    delete legacy.eventId;
    const sharing: ActivityEvent = { ...base, eventId: 'legacy-1', userId: 'sam', source: 'shop' };
    await api.model.collection.insertMany([toLogDocument(open), legacy, toLogDocument(sharing)] as never[]);

    const single = await request(api.app).get('/api/logs/open-1').set(reader.header);
    expect(single.status).toBe(200);
    expect(single.body).toMatchObject({ eventId: 'open-1', userId: 'olga' });
    expect(single.body.source).toBeUndefined();

    // Two events answer to legacy-1 (the bare one and shop's): ambiguous, each reachable.
    const both = await request(api.app).get('/api/logs/legacy-1').set(reader.header);
    expect(both.status).toBe(409);
    // In store-key order: the bare 'legacy-1' before 'shop/legacy-1'.
    expect(both.body.error.details.map((d: { message: string }) => d.message)).toEqual(['(none)', 'shop']);
    const shops = await request(api.app).get('/api/logs/legacy-1').query({ source: 'shop' }).set(reader.header);
    expect(shops.body).toMatchObject({ userId: 'sam', source: 'shop' });
  });

  it('records the sending key as the source of what it posts', async () => {
    const posted = await api.client.post('/api/logs').send({ userId: 'u', action: 'a', eventId: 'order-X' });
    expect(posted.status).toBe(202);
    // The same eventId as two other keys' events: accepted, for this key's namespace.
    expect(posted.body.eventId).toBe('order-X');
  });
});
