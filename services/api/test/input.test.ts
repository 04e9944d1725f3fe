import { startTestApi, type TestApi } from './harness';

/** Input the store would change or lose is refused, with the field path, rather than altered. */
describe('input is kept exactly or refused (real Kafka and store)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api.close();
  });

  const post = (body: string | Buffer, contentType = 'application/json') =>
    api.client
      .post('/api/logs')
      .set('Content-Type', contentType)
      // Bytes as given: superagent would otherwise serialise a Buffer as JSON.
      .serialize(() => body as string)
      .send(body);

  it.each([
    ['a top-level __proto__', '{"userId":"u","action":"a","__proto__":{"x":1}}', '__proto__'],
    [
      'metadata.__proto__ hiding a $-key',
      '{"userId":"u","action":"a","metadata":{"__proto__":{"$gt":1}}}',
      'metadata.__proto__',
    ],
    [
      'a nested constructor',
      '{"userId":"u","action":"a","metadata":{"a":{"constructor":{"prototype":1}}}}',
      'metadata.a.constructor',
    ],
    ['a lone surrogate in userId', '{"userId":"\\ud800","action":"a"}', 'userId'],
    ['a lone surrogate in a metadata key', '{"userId":"u","action":"a","metadata":{"k\\udfff":1}}', 'metadata.k\udfff'],
    [
      'a timestamp in year -1 (via its offset)',
      '{"userId":"u","action":"a","timestamp":"0000-01-01T00:00:00+01:00"}',
      'timestamp',
    ],
    ['an epoch timestamp before year 0', '{"userId":"u","action":"a","timestamp":-62167219200001}', 'timestamp'],
  ])('answers 400 for %s, naming the field', async (_name, body, path) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('refuses a batch whose third event hides a __proto__', async () => {
    const events = [
      { userId: 'u', action: 'a' },
      { userId: 'u', action: 'a' },
      { userId: 'u', action: 'a' },
    ];
    const body = JSON.stringify({ events }).replace(
      '{"userId":"u","action":"a"}]',
      '{"userId":"u","action":"a","__proto__":1}]',
    );
    const res = await api.client.post('/api/logs/batch').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].path).toBe('events.2.__proto__');
  });

  it('accepts both ends of the timestamp range, in both forms', async () => {
    for (const timestamp of [
      '"0000-01-01T00:00:00Z"',
      '-62167219200000',
      '"9999-12-31T23:59:59.999Z"',
      '253402300799999',
    ]) {
      const res = await post(`{"userId":"u","action":"a","timestamp":${timestamp}}`);
      expect(res.status).toBe(202);
    }
  });

  it('answers 400 for bytes that are not UTF-8, instead of replacing them', async () => {
    const body = Buffer.concat([Buffer.from('{"userId":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","action":"a"}')]);
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/UTF-8/);
    // An overlong encoding of "/" and a UTF-8-encoded surrogate are not UTF-8 either.
    expect((await post(Buffer.from('{"userId":"\xc0\xaf","action":"a"}', 'latin1'))).status).toBe(400);
    expect((await post(Buffer.from('{"userId":"\xed\xa0\x80","action":"a"}', 'latin1'))).status).toBe(400);
  });

  it('answers 415 for a charset other than UTF-8', async () => {
    const res = await post('{"userId":"u","action":"a"}', 'application/json; charset=iso-8859-1');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await post('{"userId":"u","action":"a"}', 'application/json; charset=UTF-8')).status).toBe(202);
  });

  it('answers 400 for a query string that is not UTF-8 or that names __proto__', async () => {
    expect((await api.client.get('/api/logs?userId=%FF')).status).toBe(400);
    expect((await api.client.get('/api/logs?userId=%ED%A0%80')).status).toBe(400);
    const proto = await api.client.get('/api/logs?__proto__=x');
    expect(proto.status).toBe(400);
    expect(proto.body.error.details[0].path).toBe('__proto__');
    expect((await api.client.get('/api/logs?userId=%C3%A9')).status).toBe(200);
  });

  it('answers with helmet headers, and never lets a cache keep events', async () => {
    const res = await api.client.get('/api/logs');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});
