import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import pino from 'pino';
import type { mongo } from 'mongoose';
import request from 'supertest';
import {
  deadLetterModel,
  erasureModel,
  partitionProgressModel,
  progressId,
  toLogDocument,
  type ActivityEvent,
  type DeadLetterDocument,
} from '@activity-logger/shared';
import { openApiDocument } from '../src/openapi/document';
import { readTopic } from '../../../test/support/kafka';
import { testKey } from '../../../test/support/api-keys';
import { startTestApi, type TestApi } from './harness';

type Paths = Record<
  string,
  Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
>;

/**
 * Receipts, the freshness watermark and erasures through the API, against the real broker and
 * store. The worker's side is played by writing its records directly (its own tests cover how
 * it writes them; test/e2e/delivery.test.ts runs both together).
 */
describe('delivery: receipts, watermark and erasures (real Kafka and store)', () => {
  const admin = testKey('admin', ['admin']);
  const ingestOnly = testKey('writer', ['ingest']);
  const logLines: string[] = [];
  let api: TestApi;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  const paths = openApiDocument().paths as Paths;

  beforeAll(async () => {
    api = await startTestApi({
      keys: [admin, ingestOnly],
      logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
    });
  });
  afterAll(async () => {
    await api.close();
  });

  /** The answer must be one the OpenAPI document lists, with a body its schema accepts. */
  function documented(path: string, method: string, res: request.Response): request.Response {
    const schema = paths[path]?.[method]?.responses[String(res.status)]?.content?.['application/json']?.schema;
    if (schema === undefined) throw new Error(`${method} ${path} answered ${res.status}, which is not documented`);
    const validate = ajv.compile(schema);
    if (!validate(res.body)) throw new Error(`${method} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}`);
    return res;
  }

  const connection = () => api.model.db;
  async function status(url: string, header?: Record<string, string>): Promise<request.Response> {
    const res = header === undefined ? await api.client.get(url) : await request(api.app).get(url).set(header);
    return documented('/api/logs/{eventId}/status', 'get', res);
  }

  it("gives each accepted event the partition and offset the broker gave it (the producer's ack)", async () => {
    const events = Array.from({ length: 300 }, (_, i) => ({ userId: `user-${i % 23}`, action: 'Viewed' }));
    const [batch, ...singles] = await Promise.all([
      api.client.post('/api/logs/batch').send({ events }),
      ...Array.from({ length: 20 }, (_, i) =>
        api.client.post('/api/logs').send({ userId: `single-${i}`, action: 'a' }),
      ),
    ]);
    expect(batch?.status).toBe(202);
    const urls = new Map<string, string>();
    (batch?.body.eventIds as string[]).forEach((id, i) => urls.set(id, (batch?.body.statusUrls as string[])[i] ?? ''));
    for (const single of singles) urls.set(single.body.eventId as string, single.headers.location as string);
    expect(urls.size).toBe(320);

    const records = await readTopic(api.kafka, api.topic, 320);
    const partitions = new Set<number>();
    for (const record of records) {
      const eventId = record.headers['event-id'] as string;
      partitions.add(record.partition);
      expect([eventId, urls.get(eventId)]).toEqual([
        eventId,
        expect.stringContaining(`&at=${record.partition}:${record.offset}`),
      ]);
    }
    expect(partitions.size).toBeGreaterThan(1);
  });

  it('answers a receipt: pending with how many are ahead, stored, dead-lettered, removed or unknown', async () => {
    const accepted = await api.client.post('/api/logs').send({ userId: 'receipt-user', action: 'a' });
    const url = accepted.body.statusUrl as string;
    const eventId = accepted.body.eventId as string;
    const [, partition, offset] = /at=(\d+):(\d+)/.exec(url)?.map(Number) ?? [];
    if (partition === undefined || offset === undefined) throw new Error(`no position in ${url}`);

    // No progress yet: everything before it in its partition is ahead.
    expect((await status(url)).body).toMatchObject({
      eventId,
      state: 'pending',
      pending: { partition, offset, ahead: offset },
    });

    const progress = partitionProgressModel(connection()).collection;
    await progress.insertOne({
      _id: progressId(api.topic, partition) as never,
      topic: api.topic,
      partition,
      committedOffset: offset + 1,
      updatedAt: new Date(),
    });
    // The worker is past it and it is nowhere: removed (erased or expired).
    expect((await status(url)).body.state).toBe('removed');

    const letters = deadLetterModel(connection()).collection;
    await letters.insertOne({
      _id: `${api.topic}:${partition}:${offset}` as never,
      topic: api.topic,
      partition,
      offset,
      reason: 'store_rejected',
      detail: 'code 2: nested arrays',
      failedAt: new Date('2026-01-01T00:00:00Z'),
      key: null,
      value: null,
      headers: {},
      eventId,
      source: 'test-client',
      state: 'open',
    });
    expect((await status(url)).body).toMatchObject({
      state: 'dead_lettered',
      deadLetter: { reason: 'store_rejected', detail: 'code 2: nested arrays', state: 'open' },
    });

    // Replayed and stored: stored wins over the letter.
    const storedAt = new Date('2026-01-02T00:00:00Z');
    const event: ActivityEvent = {
      eventId,
      source: 'test-client',
      userId: 'receipt-user',
      action: 'a',
      timestamp: new Date(),
      receivedAt: new Date(),
      traceId: 't',
    };
    await api.model.collection.insertOne(toLogDocument(event, { partition, offset, storedAt }) as never);
    const stored = await status(url);
    expect(stored.body).toMatchObject({ state: 'stored', storedAt: storedAt.toISOString(), source: 'test-client' });
    expect(stored.body).not.toHaveProperty('deadLetter');

    expect((await status('/api/logs/never-sent/status')).body.state).toBe('unknown');
    expect((await status('/api/logs/never-sent/status?at=0:99999999')).body.state).toBe('pending');
    expect((await status('/api/logs/x/status?at=nope')).status).toBe(400);
  });

  it('lets an ingest-only key follow its own events and no one else’s', async () => {
    const own = await request(api.app).post('/api/logs').set(ingestOnly.header).send({ userId: 'u', action: 'a' });
    expect(own.status).toBe(202);
    const asked = await status(own.body.statusUrl as string, ingestOnly.header);
    expect([asked.status, asked.body.state, asked.body.source]).toEqual([200, 'pending', 'writer']);
    const others = await request(api.app)
      .get(`/api/logs/${own.body.eventId as string}/status?source=test-client`)
      .set(ingestOnly.header);
    expect(documented('/api/logs/{eventId}/status', 'get', others).status).toBe(404);
    const adminOnly = await request(api.app)
      .get(own.body.statusUrl as string)
      .set(admin.header);
    expect(documented('/api/logs/{eventId}/status', 'get', adminOnly).status).toBe(403);
  });

  it('says up to when GET /api/logs is complete: the oldest partition, or null while one is unknown', async () => {
    const progress = partitionProgressModel(connection()).collection;
    await progress.deleteMany({});
    const list = async () => {
      // The watermark is cached for ~300 ms; a fresh read is what this test is about.
      await new Promise((resolve) => setTimeout(resolve, 350));
      return documented('/api/logs', 'get', await api.client.get('/api/logs').query({ limit: '1' }));
    };
    const empty = await list();
    expect([empty.body.completeThrough, empty.headers['x-complete-through']]).toEqual([null, undefined]);

    const at = (s: number) => new Date(Date.UTC(2026, 5, 1, 0, 0, s));
    for (const partition of [0, 1]) {
      await progress.insertOne({
        _id: progressId(api.topic, partition) as never,
        topic: api.topic,
        partition,
        committedOffset: 0,
        caughtUpThrough: at(10 + partition),
        updatedAt: new Date(),
      });
    }
    expect((await list()).body.completeThrough).toBeNull(); // partition 2 of 3 has no record
    await progress.insertOne({
      _id: progressId(api.topic, 2) as never,
      topic: api.topic,
      partition: 2,
      committedOffset: 0,
      caughtUpThrough: at(30),
      updatedAt: new Date(),
    });
    const complete = await list();
    expect([complete.body.completeThrough, complete.headers['x-complete-through']]).toEqual([
      at(10).toISOString(),
      at(10).toISOString(),
    ]);
  });

  it('erases a user: records who and when first, deletes their stored events, and lists erasures', async () => {
    const before = new Date(Date.now() - 1000);
    const event = (userId: string, n: number): ActivityEvent => ({
      eventId: `${userId}-${n}`,
      userId,
      action: 'a',
      timestamp: before,
      receivedAt: before,
      traceId: 't',
    });
    await api.model.collection.insertMany([
      ...Array.from({ length: 7 }, (_, n) => toLogDocument(event('erase-me', n))),
      ...Array.from({ length: 3 }, (_, n) => toLogDocument(event('keep-me', n))),
    ] as never[]);
    // A dead letter of each: the erased user's must lose its bytes and never be replayable.
    const letters = deadLetterModel(connection()).collection as unknown as mongo.Collection<DeadLetterDocument>;
    const letter = (userId: string, offset: number) => ({
      _id: `${api.topic}:0:${offset}`,
      ...{ topic: api.topic, partition: 0, offset, reason: 'schema_invalid', detail: 'bad', failedAt: before },
      ...{ key: Buffer.from(userId), value: Buffer.from(JSON.stringify({ userId })), headers: { h: 'v' } },
      ...{ userId, state: 'open' as const },
    });
    await letters.insertMany([letter('erase-me', 900), letter('keep-me', 901)]);

    const refused = await request(api.app).delete('/api/users/erase-me/events').set(ingestOnly.header);
    expect(documented('/api/users/{userId}/events', 'delete', refused).status).toBe(403);

    const erased = documented(
      '/api/users/{userId}/events',
      'delete',
      await request(api.app).delete('/api/users/erase-me/events').set(admin.header),
    );
    expect(erased.status).toBe(200);
    expect(erased.body.erasure).toMatchObject({ userId: 'erase-me', requestedBy: 'admin', deleted: 7, deadLetters: 1 });
    const after = await letters.find({ offset: { $in: [900, 901] } }, { sort: { offset: 1 } }).toArray();
    expect(after.map((l) => [l.userId, l.value === null, l.key === null, l.state])).toEqual([
      [undefined, true, true, 'discarded'], // the userId goes too
      ['keep-me', false, false, 'open'],
    ]);
    expect(await api.model.collection.countDocuments({ userId: 'erase-me' })).toBe(0);
    expect(await api.model.collection.countDocuments({ userId: 'keep-me' })).toBe(3);
    const recorded = await erasureModel(connection()).collection.findOne({ _id: erased.body.erasure.id as never });
    expect([recorded?.deleted, recorded?.deadLetters]).toEqual([7, 1]);
    // Personal data stays out of the log: the erasure's id and count are there, the userId is not.
    const line = logLines.find((l) => l.includes('"user erased"')) ?? '';
    expect(line).toContain(erased.body.erasure.id as string);
    expect(line).not.toContain('erase-me');

    // Two more, then page through all three, newest first.
    for (const userId of ['second', 'third']) {
      expect((await request(api.app).delete(`/api/users/${userId}/events`).set(admin.header)).status).toBe(200);
    }
    const first = documented(
      '/api/erasures',
      'get',
      await request(api.app).get('/api/erasures?limit=2').set(admin.header),
    );
    expect(first.body.data.map((e: { userId: string }) => e.userId)).toEqual(['third', 'second']);
    const second = documented(
      '/api/erasures',
      'get',
      await request(api.app)
        .get('/api/erasures')
        .query({ limit: '2', cursor: first.body.nextCursor as string })
        .set(admin.header),
    );
    expect([second.body.data.map((e: { userId: string }) => e.userId), second.body.nextCursor]).toEqual([
      ['erase-me'],
      null,
    ]);
    const filtered = await request(api.app).get('/api/erasures?userId=second').set(admin.header);
    expect(filtered.body.data).toHaveLength(1);
    expect(
      documented('/api/erasures', 'get', await request(api.app).get('/api/erasures?cursor=bogus').set(admin.header))
        .status,
    ).toBe(400);
  });
});
