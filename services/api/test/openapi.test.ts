import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { toLogDocument } from '@activity-logger/shared';
import { testKey } from '../../../test/support/api-keys';
import { startTestApi, type TestApi } from './harness';

interface Operation {
  responses: Record<string, { content?: { 'application/json'?: { schema: object } } }>;
}
type Paths = Record<string, Record<string, Operation>>;

/**
 * The published document against the API's real answers: every route, successes and errors, must
 * answer with a status the document lists and a body its schema accepts.
 */
describe('OpenAPI document (real Kafka and store)', () => {
  const readOnly = testKey('reader', ['read']);
  const ingestOnly = testKey('writer', ['ingest']);
  let api: TestApi;
  let limited: TestApi;
  let unreachable: TestApi;
  let paths: Paths;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  const checked: string[] = [];

  beforeAll(async () => {
    [api, limited, unreachable] = await Promise.all([
      startTestApi({ keys: [readOnly, ingestOnly] }),
      startTestApi({ rateLimits: { windowSeconds: 600, ingestEvents: 1, readRequests: 1 } }),
      startTestApi({ brokers: ['127.0.0.1:1'], produceTimeoutMs: 1000 }),
    ]);
    const base = { action: 'a', userId: 'u', timestamp: new Date(), receivedAt: new Date(), traceId: 't' };
    await api.model.collection.insertMany([
      toLogDocument({ ...base, eventId: 'twin', source: 'one' }),
      toLogDocument({ ...base, eventId: 'twin', source: 'two' }),
      toLogDocument({ ...base, eventId: 'single', source: 'one', metadata: { k: [1, 'x'] } }),
    ] as never[]);
    const doc = await request(api.app).get('/api/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    paths = doc.body.paths as Paths;
  });
  afterAll(async () => {
    await Promise.all([api?.close(), limited?.close(), unreachable?.close()]);
    process.stdout.write(`openapi: ${checked.length} answers checked against the document: ${checked.join(', ')}\n`);
  });

  function expectDocumented(path: string, method: string, res: request.Response) {
    const operation = paths[path]?.[method];
    expect(operation).toBeDefined();
    const response = operation?.responses[String(res.status)];
    if (response === undefined) throw new Error(`${method} ${path} answered ${res.status}, which is not documented`);
    const schema = response.content?.['application/json']?.schema;
    expect(schema).toBeDefined();
    const validate = ajv.compile(schema as object);
    if (!validate(res.body)) {
      throw new Error(
        `${method} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body)}`,
      );
    }
    checked.push(`${method.toUpperCase()} ${path} ${res.status}`);
  }

  const event = { userId: 'u', action: 'a', metadata: { nested: { list: [1, 2] } } };

  it('describes POST /api/logs', async () => {
    const post = '/api/logs';
    expectDocumented(post, 'post', await api.client.post(post).send({ ...event, eventId: 'doc-1', timestamp: 0 }));
    expectDocumented(post, 'post', await api.client.post(post).send({ userId: 'u' }));
    expectDocumented(post, 'post', await api.client.post(post).set('Content-Type', 'application/json').send('{'));
    expectDocumented(post, 'post', await request(api.app).post(post).send(event));
    expectDocumented(post, 'post', await request(api.app).post(post).set(readOnly.header).send(event));
    expectDocumented(post, 'post', await api.client.post(post).send({ ...event, metadata: { s: 'x'.repeat(70_000) } }));
    expectDocumented(post, 'post', await api.client.post(post).set('Content-Type', 'text/plain').send('x'));
    expect((await limited.client.post(post).send(event)).status).toBe(202);
    expectDocumented(post, 'post', await limited.client.post(post).send(event));
    expectDocumented(post, 'post', await unreachable.client.post(post).send(event));
  });

  it('describes POST /api/logs/batch', async () => {
    const batch = '/api/logs/batch';
    expectDocumented(batch, 'post', await api.client.post(batch).send({ events: [event, event] }));
    expectDocumented(batch, 'post', await api.client.post(batch).send({ events: [event, { userId: 'u' }] }));
    expectDocumented(batch, 'post', await api.client.post(batch).send({ events: [] }));
    expectDocumented(
      batch,
      'post',
      await request(api.app)
        .post(batch)
        .set(readOnly.header)
        .send({ events: [event] }),
    );
  });

  it('describes GET /api/logs', async () => {
    const list = '/api/logs';
    const page = await api.client.get(list).query({ limit: '1' });
    expect(page.body.nextCursor).not.toBeNull();
    expectDocumented(list, 'get', page);
    expectDocumented(list, 'get', await api.client.get(list).query({ source: 'one', cursor: page.body.nextCursor }));
    expectDocumented(list, 'get', await api.client.get(list).query({ limit: '1000' }));
    expectDocumented(list, 'get', await request(api.app).get(list));
    expectDocumented(list, 'get', await request(api.app).get(list).set(ingestOnly.header));
    expect((await limited.client.get(list)).status).toBe(200);
    expectDocumented(list, 'get', await limited.client.get(list));
  });

  it('describes GET /api/logs/{eventId}', async () => {
    const one = '/api/logs/{eventId}';
    expectDocumented(one, 'get', await api.client.get('/api/logs/single'));
    expectDocumented(one, 'get', await api.client.get('/api/logs/twin'));
    expectDocumented(one, 'get', await api.client.get('/api/logs/twin').query({ source: 'two' }));
    expectDocumented(one, 'get', await api.client.get('/api/logs/nothing'));
    expectDocumented(one, 'get', await api.client.get('/api/logs/twin').query({ who: 'me' }));
    expectDocumented(one, 'get', await request(api.app).get('/api/logs/twin'));
  });

  it('serves a reference page whose assets come from this server', async () => {
    const page = await request(api.app).get('/api/docs');
    expect(page.status).toBe(200);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      expect(asset.startsWith('/api/docs/')).toBe(true);
      const res = await request(api.app).get(asset);
      expect(res.status).toBe(200);
    }
    // Only the page's own assets are public: anything else under /api/docs (the package's demo
    // page, its manifest) is an unknown /api path like any other, which needs a key.
    for (const other of ['/api/docs/no-such-asset.js', '/api/docs/index.html', '/api/docs/package.json']) {
      const res = await request(api.app).get(other);
      expect([other, res.status]).toEqual([other, 401]);
    }
    const withKey = await api.client.get('/api/docs/package.json');
    expect([withKey.status, withKey.body.error.code]).toEqual([404, 'NOT_FOUND']);
  });
});
