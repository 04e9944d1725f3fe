import request from 'supertest';
import { deadLetterModel, encodeEvent, type DeadLetterDocument } from '@activity-logger/shared';
import { startTestWorker, type TestWorker } from '../../worker/test/harness';
import { testKey } from '../../../test/support/api-keys';
import { eventually } from '../../../test/support/eventually';
import { uniqueName } from '../../../test/support/isolation';
import { readTopic } from '../../../test/support/kafka';
import { startTestApi, type TestApi } from './harness';

const admin = testKey('ops-admin', ['admin']);
const reader = testKey('reader', ['read']);
const failedAt = Date.parse('2026-02-01T00:00:00.000Z');

function letter(offset: number, overrides: Partial<DeadLetterDocument> = {}): DeadLetterDocument {
  return {
    _id: `main:${offset % 3}:${offset}`,
    topic: 'main',
    partition: offset % 3,
    offset,
    reason: offset % 2 === 0 ? 'schema_invalid' : 'unparseable',
    detail: `letter ${offset}`,
    failedAt: new Date(failedAt + Math.floor(offset / 2) * 1000), // pairs share a failedAt
    key: Buffer.from('u1'),
    value: Buffer.from([0xff, 0xfe, offset]),
    headers: { 'event-id': `evt-${offset}` },
    eventId: `evt-${offset}`,
    state: 'open',
    ...overrides,
  };
}

describe('dead letters (real Kafka, store and worker)', () => {
  let api: TestApi;
  let worker: TestWorker;
  const as = (key: typeof admin) => ({
    get: (path: string) => request(api.app).get(path).set(key.header),
    post: (path: string) => request(api.app).post(path).set(key.header),
  });

  beforeAll(async () => {
    api = await startTestApi({ keys: [admin, reader] });
    worker = await startTestWorker({
      kafka: api.kafka,
      model: api.model,
      topic: api.topic,
      dlqTopic: uniqueName('dlq'),
      groupId: uniqueName('worker'),
    });
    await deadLetterModel(api.connection).collection.insertMany(
      Array.from({ length: 25 }, (_, i) => letter(i)) as never[],
    );
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
  });

  it('needs the admin scope', async () => {
    expect((await as(reader).get('/api/dead-letters')).status).toBe(403);
    expect((await as(reader).post('/api/dead-letters/main:0:0/replay')).status).toBe(403);
    expect((await request(api.app).get('/api/dead-letters')).status).toBe(401);
  });

  it('lists newest first, filters by reason, state and failedAt, and pages without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await as(admin)
        .get('/api/dead-letters')
        .query({ limit: '4', reason: 'schema_invalid', ...(cursor === null ? {} : { cursor }) });
      expect(res.status).toBe(200);
      seen.push(...res.body.data.map((l: { id: string }) => l.id));
      cursor = res.body.nextCursor;
    } while (cursor !== null);
    const expected = Array.from({ length: 25 }, (_, i) => i)
      .filter((i) => i % 2 === 0)
      .reverse()
      .map((i) => `main:${i % 3}:${i}`);
    expect(seen).toEqual(expected);

    const window = await as(admin)
      .get('/api/dead-letters')
      .query({ from: new Date(failedAt + 2000).toISOString(), to: String(failedAt + 4000) });
    expect(window.body.data.map((l: { offset: number }) => l.offset)).toEqual([5, 4, 7, 6].sort((a, b) => b - a));

    const bad = await as(admin).get('/api/dead-letters').query({ cursor: 'forged.cursor' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    const reused = await as(admin).get('/api/dead-letters').query({ limit: '1' });
    const other = await as(admin).get('/api/dead-letters').query({ state: 'open', cursor: reused.body.nextCursor });
    expect(other.status).toBe(400);
  });

  it('shows one letter with its original bytes, and its text when they are UTF-8', async () => {
    const binary = await as(admin).get('/api/dead-letters/main:1:1');
    expect(binary.status).toBe(200);
    expect(binary.body).toMatchObject({ id: 'main:1:1', value: Buffer.from([0xff, 0xfe, 1]).toString('base64') });
    expect(binary.body.valueText).toBeUndefined();
    expect(binary.body.keyText).toBe('u1');
    expect(binary.body.headers).toEqual({ 'event-id': 'evt-1' });
    expect((await as(admin).get('/api/dead-letters/nope:0:0')).status).toBe(404);
  });

  it('replays a schema_invalid letter with a corrected body: stored once under its eventId and source, produced once', async () => {
    const receivedAt = new Date();
    const invalid = JSON.stringify({ v: 1, eventId: 'fix-me', userId: '', action: 'Login', receivedAt });
    await deadLetterModel(api.connection).collection.insertOne({
      ...letter(100),
      _id: 'main:0:100',
      reason: 'schema_invalid',
      value: Buffer.from(invalid),
      eventId: 'fix-me',
      source: 'mobile-app',
      receivedAt,
    } as never);

    const asIs = await as(admin).post('/api/dead-letters/main:0:100/replay');
    expect([asIs.status, asIs.body.error.code]).toEqual([422, 'CORRECTION_REQUIRED']);
    const invalidFix = await as(admin)
      .post('/api/dead-letters/main:0:100/replay')
      .send({ event: { userId: 'u1' } });
    expect([invalidFix.status, invalidFix.body.error.details[0].path]).toEqual([400, 'event.action']);

    const correction = { event: { userId: 'u1', action: 'Login', metadata: { corrected: true } } };
    const first = await as(admin).post('/api/dead-letters/main:0:100/replay').send(correction);
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      id: 'main:0:100',
      state: 'replayed',
      eventId: 'fix-me',
      resolution: { by: 'ops-admin' },
      // The replay's place in the main topic, so the receipt can say how far along it is.
      statusUrl: expect.stringMatching(/^\/api\/logs\/fix-me\/status\?source=mobile-app&at=\d+:\d+$/),
    });
    const again = await as(admin).post('/api/dead-letters/main:0:100/replay').send(correction);
    expect([again.status, again.body]).toEqual([202, first.body]);

    const stored = await eventually(
      async () => (await api.model.collection.find({ eventId: 'fix-me' }).toArray()).at(0),
      { what: 'the replayed event in the store' },
    );
    expect(stored).toMatchObject({
      _id: 'mobile-app/fix-me',
      source: 'mobile-app',
      userId: 'u1',
      metadata: { corrected: true },
      receivedAt,
    });
    // The store key would hide a second copy; the topic shows every one that was produced.
    const records = await readTopic(api.kafka, api.topic, 2, { timeoutMs: 5000, partial: true });
    expect(records.filter((r) => r.headers['event-id'] === 'fix-me')).toHaveLength(1);
    expect(await api.model.collection.countDocuments({ eventId: 'fix-me' })).toBe(1);
  });

  it('produces a letter once when replays race, in one bulk request or many', async () => {
    const event = {
      eventId: 'race-1',
      userId: 'u2',
      action: 'Logout',
      timestamp: new Date(),
      receivedAt: new Date(),
      traceId: 't-race',
      source: 'web',
    };
    await deadLetterModel(api.connection).collection.insertOne({
      ...letter(200),
      _id: 'main:2:200',
      reason: 'store_rejected',
      value: Buffer.from(encodeEvent(event)),
      eventId: 'race-1',
      source: 'web',
    } as never);
    const answers = await Promise.all([
      ...Array.from({ length: 4 }, () => as(admin).post('/api/dead-letters/main:2:200/replay')),
      as(admin)
        .post('/api/dead-letters/replay')
        .send({ ids: ['main:2:200', 'main:1:1', 'nope:0:0'] }),
    ]);
    const singles = answers.slice(0, 4).map((res) => res.status);
    expect(singles.every((status) => status === 202 || status === 409)).toBe(true);
    const bulk = answers[4] as request.Response;
    expect(bulk.status).toBe(200);
    expect(bulk.body.results.map((r: { id: string; status: number }) => [r.id, r.status])).toEqual([
      ['main:2:200', expect.any(Number)],
      ['main:1:1', 422],
      ['nope:0:0', 404],
    ]);
    await eventually(
      async () => ((await api.model.collection.countDocuments({ eventId: 'race-1' })) === 1 ? true : undefined),
      {
        what: 'the raced event stored',
      },
    );
    const records = await readTopic(api.kafka, api.topic, 3, { timeoutMs: 5000, partial: true });
    expect(records.filter((r) => r.headers['event-id'] === 'race-1')).toHaveLength(1);
    const final = await as(admin).post('/api/dead-letters/main:2:200/replay');
    expect([final.status, final.body.state]).toEqual([202, 'replayed']);
  });

  it('discards with a required reason, once; a discarded letter is not replayed', async () => {
    const noReason = await as(admin).post('/api/dead-letters/main:0:3/discard').send({});
    expect(noReason.status).toBe(400);
    const discarded = await as(admin).post('/api/dead-letters/main:0:3/discard').send({ reason: 'test junk' });
    expect(discarded.status).toBe(200);
    expect(discarded.body).toMatchObject({ state: 'discarded', resolution: { by: 'ops-admin', reason: 'test junk' } });
    const again = await as(admin).post('/api/dead-letters/main:0:3/discard').send({ reason: 'other' });
    expect([again.status, again.body.resolution.reason]).toEqual([200, 'test junk']);
    const replay = await as(admin).post('/api/dead-letters/main:0:3/replay');
    expect([replay.status, replay.body.error.code]).toEqual([409, 'LETTER_DISCARDED']);
    const replayed = await as(admin).post('/api/dead-letters/main:0:100/discard').send({ reason: 'late' });
    expect([replayed.status, replayed.body.error.code]).toEqual([409, 'LETTER_REPLAYED']);
    const listed = await as(admin).get('/api/dead-letters').query({ state: 'discarded' });
    expect(listed.body.data.map((l: { id: string }) => l.id)).toEqual(['main:0:3']);
  });
});
