import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { testKey } from '../../../test/support/api-keys';
import { readTopic } from '../../../test/support/kafka';
import { startTestApi, type TestApi } from './harness';

describe('API keys and scopes (real Kafka and store)', () => {
  const ingestOnly = testKey('ingest-only', ['ingest']);
  const readOnly = testKey('read-only', ['read']);
  const adminOnly = testKey('admin-only', ['admin']);
  // Rotation: two keys of one name, both active.
  const webOld = testKey('web', ['ingest', 'read']);
  const webNew = testKey('web', ['ingest', 'read']);
  const revoked = testKey('revoked', ['ingest', 'read']); // never configured, or no longer
  let logged = '';
  let api: TestApi;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    api = await startTestApi({
      keys: [ingestOnly, readOnly, adminOnly, webOld, webNew],
      logger: pino({ level: 'trace' }, sink),
    });
  });
  afterAll(async () => {
    await api.close();
  });

  const event = { userId: 'u-auth', action: 'Login' };

  describe('answers one 401, with WWW-Authenticate: Bearer, for every key that is not one', () => {
    const cases: [string, Record<string, string>][] = [
      ['no Authorization header', {}],
      ['an empty bearer', { Authorization: 'Bearer ' }],
      ['another scheme', { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ['a malformed key', { Authorization: 'Bearer not-a-key' }],
      ['an unknown (or revoked) key', revoked.header],
      [
        'a configured key with one character changed',
        { Authorization: `Bearer ${webOld.key.slice(0, -1)}${webOld.key.endsWith('A') ? 'B' : 'A'}` },
      ],
      ['a configured hash sent as the key', { Authorization: `Bearer ${webOld.line.split(':')[2] ?? ''}` }],
    ];
    const bodies: unknown[] = [];

    it.each(cases)('%s', async (_name, headers) => {
      for (const res of [
        await request(api.app).post('/api/logs').set(headers).send(event),
        await request(api.app).get('/api/logs').set(headers),
        await request(api.app).get('/api/logs/some-id').set(headers),
        await request(api.app)
          .post('/api/logs/batch')
          .set(headers)
          .send({ events: [event] }),
        await request(api.app).get('/api/no-such-route').set(headers),
      ]) {
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
        bodies.push(res.body);
      }
    });

    it('with the same body each time', () => {
      expect(bodies.length).toBe(cases.length * 5);
      for (const body of bodies) expect(body).toEqual(bodies[0]);
      expect(bodies[0]).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String), details: [] } });
    });
  });

  it('lets an ingest key post but not read, and a read key read but not post (403)', async () => {
    expect((await request(api.app).post('/api/logs').set(ingestOnly.header).send(event)).status).toBe(202);
    const batch = await request(api.app)
      .post('/api/logs/batch')
      .set(ingestOnly.header)
      .send({ events: [event] });
    expect(batch.status).toBe(202);
    const denied = await request(api.app).get('/api/logs').set(ingestOnly.header);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('FORBIDDEN');
    expect((await request(api.app).get('/api/logs/x').set(ingestOnly.header)).status).toBe(403);

    expect((await request(api.app).get('/api/logs').set(readOnly.header)).status).toBe(200);
    expect((await request(api.app).post('/api/logs').set(readOnly.header).send(event)).status).toBe(403);
    // The scope is checked before the body is read: a broken body changes nothing.
    const broken = await request(api.app)
      .post('/api/logs/batch')
      .set(readOnly.header)
      .set('Content-Type', 'application/json')
      .send('{not json');
    expect(broken.status).toBe(403);
  });

  it('gives the admin scope neither ingest nor read', async () => {
    expect((await request(api.app).post('/api/logs').set(adminOnly.header).send(event)).status).toBe(403);
    expect((await request(api.app).get('/api/logs').set(adminOnly.header)).status).toBe(403);
  });

  it('accepts both keys of a rotation, and records their shared name as the source', async () => {
    const first = await request(api.app)
      .post('/api/logs')
      .set(webOld.header)
      .send({ ...event, eventId: 'rot-1' });
    const second = await request(api.app)
      .post('/api/logs')
      .set(webNew.header)
      .send({ ...event, eventId: 'rot-2' });
    expect([first.status, second.status]).toEqual([202, 202]);
    const messages = await readTopic(api.kafka, api.topic, 4);
    const sources = messages
      .map((message) => JSON.parse(message.value?.toString() ?? '{}') as { eventId: string; source?: string })
      .filter((wire) => wire.eventId.startsWith('rot-'))
      .map((wire) => wire.source);
    expect(sources).toEqual(['web', 'web']);
  });

  it('never writes a key (or its hash) to the log', () => {
    expect(logged).not.toBe('');
    for (const key of [ingestOnly, readOnly, adminOnly, webOld, webNew, revoked]) {
      expect(logged).not.toContain(key.key);
      expect(logged).not.toContain(key.line.split(':')[2]);
    }
  });
});
