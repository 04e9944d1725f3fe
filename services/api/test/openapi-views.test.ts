import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { deadLetterModel, encodeEvent, partitionProgressModel, progressId } from '@activity-logger/shared';
import { testKey } from '../../../test/support/api-keys';
import { startTestApi, type TestApi } from './harness';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
type Paths = Record<string, Record<string, Operation>>;

/**
 * The dead-letter, live-tail and export routes against the published document (as openapi.test.ts
 * does for the others): every answer has a documented status, and a body or content type the
 * document gives for it.
 */
describe('OpenAPI document: dead letters, live tail, export (real Kafka and store)', () => {
  const admin = testKey('doc-admin', ['admin']);
  let api: TestApi;
  let paths: Paths;
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);

  beforeAll(async () => {
    api = await startTestApi({ keys: [admin], views: { limits: { perKey: 1 } } });
    const event = {
      eventId: 'ok',
      userId: 'u',
      action: 'a',
      timestamp: new Date(),
      receivedAt: new Date(),
      traceId: 't',
      source: 's',
    };
    const base = {
      topic: 'main',
      partition: 0,
      reason: 'store_rejected',
      detail: 'x',
      failedAt: new Date(),
      key: null,
      headers: {},
      state: 'open',
    };
    await deadLetterModel(api.connection).collection.insertMany([
      { ...base, _id: 'main:0:1', offset: 1, value: Buffer.from(encodeEvent(event)), eventId: 'ok', source: 's' },
      { ...base, _id: 'main:0:2', offset: 2, value: Buffer.from([0xff]), eventId: 'bad' },
      { ...base, _id: 'main:0:3', offset: 3, value: Buffer.from('{}'), eventId: 'junk', source: 's' },
    ] as never[]);
    await partitionProgressModel(api.connection).collection.insertOne({
      _id: progressId(api.topic, 0),
      topic: api.topic,
      partition: 0,
      committedOffset: 0,
      updatedAt: new Date(),
    } as never);
    paths = (await request(api.app).get('/api/openapi.json')).body.paths as Paths;
  });
  afterAll(async () => {
    await api?.close();
  });

  function expectDocumented(path: string, method: string, res: request.Response) {
    const response = paths[path]?.[method]?.responses[String(res.status)];
    if (response === undefined) throw new Error(`${method} ${path} answered ${res.status}, which is not documented`);
    const type = String(res.headers['content-type']).split(';')[0] as string;
    const content = response.content?.[type];
    if (content === undefined) throw new Error(`${method} ${path} ${res.status}: ${type} is not documented`);
    if (type !== 'application/json') return;
    const validate = ajv.compile(content.schema);
    if (!validate(res.body)) {
      throw new Error(
        `${method} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body)}`,
      );
    }
  }

  const as = () => ({
    get: (path: string) => request(api.app).get(path).set(admin.header),
    post: (path: string) => request(api.app).post(path).set(admin.header),
  });

  it('describes the dead-letter routes', async () => {
    const list = '/api/dead-letters';
    const page = await as().get(list).query({ limit: '1' });
    expectDocumented(list, 'get', page);
    expectDocumented(list, 'get', await as().get(list).query({ cursor: page.body.nextCursor }));
    expectDocumented(list, 'get', await as().get(list).query({ state: 'lost' }));
    expectDocumented(list, 'get', await api.client.get(list));
    expectDocumented(list, 'get', await request(api.app).get(list));

    const one = '/api/dead-letters/{id}';
    expectDocumented(one, 'get', await as().get('/api/dead-letters/main:0:1'));
    expectDocumented(one, 'get', await as().get('/api/dead-letters/main:0:2'));
    expectDocumented(one, 'get', await as().get('/api/dead-letters/none'));

    const replay = '/api/dead-letters/{id}/replay';
    const first = await as().post('/api/dead-letters/main:0:1/replay');
    expect(first.status).toBe(202);
    expectDocumented(replay, 'post', first);
    expectDocumented(replay, 'post', await as().post('/api/dead-letters/main:0:1/replay'));
    expectDocumented(replay, 'post', await as().post('/api/dead-letters/main:0:2/replay'));
    expectDocumented(
      replay,
      'post',
      await as()
        .post('/api/dead-letters/main:0:2/replay')
        .send({ event: { userId: 'u' } }),
    );
    expectDocumented(replay, 'post', await as().post('/api/dead-letters/none/replay'));
    const notJson = await as().post('/api/dead-letters/main:0:2/replay').set('Content-Type', 'text/plain').send('x');
    expect(notJson.status).toBe(415);
    expectDocumented(replay, 'post', notJson);
    const malformed = await as()
      .post('/api/dead-letters/main:0:2/replay')
      .set('Content-Type', 'application/json')
      .send('{');
    expect([malformed.status, malformed.body.error.code]).toEqual([400, 'MALFORMED_JSON']);
    expectDocumented(replay, 'post', malformed);

    const discard = '/api/dead-letters/{id}/discard';
    expectDocumented(discard, 'post', await as().post('/api/dead-letters/main:0:3/discard').send({ reason: 'junk' }));
    expectDocumented(discard, 'post', await as().post('/api/dead-letters/main:0:3/discard').send({}));
    expectDocumented(discard, 'post', await as().post('/api/dead-letters/main:0:1/discard').send({ reason: 'late' }));
    expectDocumented(replay, 'post', await as().post('/api/dead-letters/main:0:3/replay'));

    const bulk = '/api/dead-letters/replay';
    const results = await as()
      .post(bulk)
      .send({ ids: ['main:0:1', 'main:0:2', 'main:0:3', 'none'] });
    expect(results.body.results.map((r: { status: number }) => r.status)).toEqual([202, 422, 409, 404]);
    expectDocumented(bulk, 'post', results);
    expectDocumented(bulk, 'post', await as().post(bulk).send({ ids: [] }));
  });

  it('describes the live tail and the export', async () => {
    const stream = '/api/logs/stream';
    const server = api.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const controller = new AbortController();
      const open = await fetch(`http://127.0.0.1:${port}${stream}`, {
        headers: api.key.header,
        signal: controller.signal,
      });
      expect(open.status).toBe(200);
      expect(
        paths[stream]?.get?.responses['200']?.content?.[
          String(open.headers.get('content-type')).split(';')[0] as string
        ],
      ).toBeDefined();
      // The key's one stream slot is taken.
      const refused = await api.client.get(stream);
      expect(refused.status).toBe(429);
      expectDocumented(stream, 'get', refused);
      controller.abort();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expectDocumented(stream, 'get', await api.client.get(stream).query({ lastEventId: 'x' }));
    expectDocumented(stream, 'get', await request(api.app).get(stream));

    const exported = '/api/logs/export';
    expectDocumented(exported, 'get', await api.client.get(exported).buffer(true));
    expectDocumented(exported, 'get', await api.client.get(exported).query({ format: 'csv' }));
    expectDocumented(exported, 'get', await api.client.get(exported).query({ format: 'pdf' }));
  });
});
