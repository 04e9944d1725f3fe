import fc from 'fast-check';
import request from 'supertest';
import { MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS } from '@activity-logger/shared';
import { testKey, type TestKey } from '../../../test/support/api-keys';
import { startTestApi, type TestApi } from './harness';

/**
 * Generated requests to every endpoint, against the app on the real Kafka and store. Each request
 * is built to be valid or invalid, and the property is the contract: never a 5xx; a valid request
 * is accepted (202, or 200/404 for a read); an invalid one is a 4xx with the JSON error body.
 */

interface Generated {
  readonly kind: string;
  readonly valid: boolean;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: string;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  /** Which key: the full one, one lacking the scope, an unknown one, or none. */
  readonly auth: 'full' | 'wrong-scope' | 'unknown' | 'none';
}

const RUNS = Number(process.env.PROPERTY_RUNS ?? 1000);

// Values that are valid by construction.
// ≤ 120 UTF-16 units; no NUL, which is refused (not every store can hold it).
const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter((t) => !t.includes('\0'));
const safeKey = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 12 })
  .filter((k) => !k.startsWith('$') && !k.includes('.') && !k.includes('\0'))
  .filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k));
const leaf = fc.oneof(
  text,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const metadata = fc.dictionary(
  safeKey,
  fc.oneof(leaf, fc.array(leaf, { maxLength: 4 }), fc.dictionary(safeKey, leaf, { maxKeys: 3 })),
  { maxKeys: 6 },
);
const instant = fc.date({ min: new Date(MIN_TIMESTAMP_MS), max: new Date(MAX_TIMESTAMP_MS), noInvalidDate: true });
const timestamp = fc.oneof(
  instant.map((d) => d.getTime()),
  instant.map((d) => d.toISOString()),
);
const eventId = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/);
const event = fc.record(
  { userId: text, action: text, metadata, timestamp, eventId },
  { requiredKeys: ['userId', 'action'] },
);

// Ways to make one event invalid; each yields the event's JSON text.
const json = (value: unknown) => JSON.stringify(value);
const badEvent: fc.Arbitrary<string> = fc.oneof(
  event.map(({ userId: _u, ...rest }) => json(rest)),
  event.map((e) => json({ ...e, userId: 'u'.repeat(129) })),
  event.map((e) => json({ ...e, action: '' })),
  event.map((e) => json({ ...e, level: 'info' })),
  event.map((e) => json({ ...e, userId: 42 })),
  fc.constantFrom('$gt', 'a.b', 'a\0b').chain((key) => event.map((e) => json({ ...e, metadata: { [key]: 1 } }))),
  event.map((e) => json({ ...e, metadata: [1, 2] })),
  event.map((e) => json({ ...e, metadata: { deep: JSON.parse('{"n":'.repeat(11) + '1' + '}'.repeat(11)) } })),
  fc
    .constantFrom('__proto__', 'constructor', 'prototype')
    // Without the event's own metadata: a duplicate key would replace this one (JSON keeps the last).
    .chain((key) => event.map(({ metadata: _m, ...e }) => json(e).replace(/^\{/, `{"metadata":{"${key}":{"x":1}},`))),
  event.map((e) => json(e).replace(/^\{/, '{"__proto__":{"admin":true},')),
  fc.constantFrom('\\ud800', '\\udfff', 'a\\udc00b').map((lone) => `{"userId":"${lone}","action":"a"}`),
  event.map((e) => json({ ...e, action: `${e.action}\0` })),
  event.map((e) => json({ ...e, metadata: { note: 'a\0b' } })),
  fc
    .oneof(
      fc.constant(MIN_TIMESTAMP_MS - 1),
      fc.constant(MAX_TIMESTAMP_MS + 1),
      fc.constant(1.5),
      fc.constantFrom('0000-01-01T00:00:00+01:00', '+010000-01-01T00:00:00Z', '2024-05-01T10:00:00', 'yesterday'),
    )
    .chain((bad) => event.map((e) => json({ ...e, timestamp: bad }))),
  fc.constantFrom('a b', 'x'.repeat(65), '', 'é').chain((bad) => event.map((e) => json({ ...e, eventId: bad }))),
);

const full = (rest: Omit<Generated, 'auth'>): Generated => ({ ...rest, auth: 'full' });

const single: fc.Arbitrary<Generated> = fc.oneof(
  event.map((e) => full({ kind: 'single', valid: true, method: 'POST', path: '/api/logs', body: json(e) })),
  badEvent.map((body) => full({ kind: 'single-invalid', valid: false, method: 'POST', path: '/api/logs', body })),
  fc
    .constantFrom('{', '[]', 'null', '"text"', '', '{"userId":"u","action":"a"} x')
    .map((body) => full({ kind: 'single-malformed', valid: false, method: 'POST', path: '/api/logs', body })),
  event.map((e) =>
    full({
      kind: 'single-not-utf8',
      valid: false,
      method: 'POST',
      path: '/api/logs',
      body: Buffer.concat([Buffer.from(json(e).slice(0, -1)), Buffer.from(',"x":"\xff\xfe"}', 'latin1')]),
    }),
  ),
  fc
    .constantFrom('text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded')
    .chain((contentType) =>
      event.map((e) =>
        full({ kind: 'single-media', valid: false, method: 'POST', path: '/api/logs', body: json(e), contentType }),
      ),
    ),
);

const batch: fc.Arbitrary<Generated> = fc.oneof(
  fc
    // A valid batch never repeats an eventId (that is a 400); events without one are all distinct.
    .uniqueArray(event, { minLength: 1, maxLength: 30, selector: (e) => e.eventId ?? {} })
    .map((events) =>
      full({ kind: 'batch', valid: true, method: 'POST', path: '/api/logs/batch', body: json({ events }) }),
    ),
  fc
    .tuple(fc.array(event, { maxLength: 10 }), badEvent, fc.array(event, { maxLength: 10 }))
    .map(([before, bad, after]) =>
      full({
        kind: 'batch-invalid',
        valid: false,
        method: 'POST',
        path: '/api/logs/batch',
        body: `{"events":[${[...before.map(json), bad, ...after.map(json)].join(',')}]}`,
      }),
    ),
  fc
    .constantFrom('{"events":[]}', '{"events":{}}', '{}', '{"events":[],"more":1}', '[]')
    .map((body) => full({ kind: 'batch-envelope', valid: false, method: 'POST', path: '/api/logs/batch', body })),
);

const sourceName = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const queryValue = (value: string | number) => encodeURIComponent(String(value));
const listQuery = fc
  .record(
    {
      userId: text,
      action: text,
      source: sourceName,
      range: fc.tuple(instant, instant),
      epoch: fc.boolean(),
      limit: fc.integer({ min: 1, max: 500 }),
      order: fc.constantFrom('asc', 'desc'),
    },
    { requiredKeys: [] },
  )
  .map(({ range, epoch, ...rest }) => {
    const params: [string, string | number][] = Object.entries(rest);
    if (range !== undefined) {
      const [a, b] = [...range].sort((x, y) => x.getTime() - y.getTime()) as [Date, Date];
      params.push(['from', epoch === true ? Math.max(0, a.getTime()) : a.toISOString()]);
      params.push(['to', epoch === true ? Math.max(0, b.getTime()) : b.toISOString()]);
    }
    return params.map(([k, v]) => `${k}=${queryValue(v)}`).join('&');
  });
const badListQuery = fc.constantFrom(
  'limit=0',
  'limit=501',
  'limit=ten',
  'order=random',
  'sort=userId',
  'userId[$ne]=x',
  'userId=a&userId=b',
  'from=last%20week',
  'from=2024-03-02T00:00:00Z&to=2024-03-01T00:00:00Z',
  'cursor=not-a-cursor',
  'source=has%2Fslash',
  'userId=%FF',
  'userId=%ED%A0%80',
  '__proto__=x',
  'userId=',
  `action=${'a'.repeat(129)}`,
  'from=0000-01-01T00:00:00%2B01:00',
);

const reads: fc.Arbitrary<Generated> = fc.oneof(
  listQuery.map((query) => full({ kind: 'list', valid: true, method: 'GET', path: '/api/logs', query })),
  badListQuery.map((query) => full({ kind: 'list-invalid', valid: false, method: 'GET', path: '/api/logs', query })),
  fc.tuple(eventId, fc.option(sourceName, { nil: undefined })).map(([id, source]) =>
    full({
      kind: 'one',
      valid: true,
      method: 'GET',
      path: `/api/logs/${id}`,
      ...(source === undefined ? {} : { query: `source=${source}` }),
    }),
  ),
  eventId.map((id) =>
    full({ kind: 'one-invalid', valid: false, method: 'GET', path: `/api/logs/${id}`, query: 'who=me' }),
  ),
);

const anyValidOrNot = fc.oneof(single, batch, reads);
const generated: fc.Arbitrary<Generated> = fc.oneof(
  { weight: 6, arbitrary: anyValidOrNot },
  {
    weight: 1,
    arbitrary: fc
      .tuple(anyValidOrNot, fc.constantFrom('wrong-scope', 'unknown', 'none') as fc.Arbitrary<Generated['auth']>)
      .map(([req, auth]) => ({ ...req, kind: `auth-${auth}`, valid: false, auth })),
  },
);

describe('property: generated requests to every endpoint (real Kafka and store)', () => {
  let api: TestApi;
  let ingestOnly: TestKey;
  let readOnly: TestKey;
  const statuses = new Map<string, number>();
  const kinds = new Map<string, number>();
  let sent = 0;

  beforeAll(async () => {
    ingestOnly = testKey('ingest-only', ['ingest']);
    readOnly = testKey('read-only', ['read']);
    api = await startTestApi({ keys: [ingestOnly, readOnly] });
  });
  afterAll(async () => {
    await api?.close();
    const counts = (map: Map<string, number>) =>
      [...map].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`);
    process.stdout.write(
      `property: ${sent} generated requests; by status ${counts(statuses).join(', ')}\n` +
        `property: by kind ${counts(kinds).join(', ')}\n`,
    );
  });

  function send(req: Generated) {
    const url = req.query === undefined ? req.path : `${req.path}?${req.query}`;
    let test = req.method === 'GET' ? request(api.app).get(url) : request(api.app).post(url);
    const wrongScope = req.method === 'GET' ? ingestOnly : readOnly;
    if (req.auth === 'full') test = test.set(api.key.header);
    if (req.auth === 'wrong-scope') test = test.set(wrongScope.header);
    if (req.auth === 'unknown') test = test.set(testKey('stranger', ['ingest', 'read']).header);
    if (req.body !== undefined) {
      const body = req.body;
      test = test
        .set('Content-Type', req.contentType ?? 'application/json')
        .serialize(() => body as string)
        .send(body as string);
    }
    return test;
  }

  it('never answers 5xx, accepts every valid request and refuses every invalid one with a JSON error', async () => {
    await fc.assert(
      fc.asyncProperty(generated, async (req) => {
        const res = await send(req);
        sent += 1;
        statuses.set(String(res.status), (statuses.get(String(res.status)) ?? 0) + 1);
        kinds.set(req.kind, (kinds.get(req.kind) ?? 0) + 1);
        const what = `${req.kind} ${req.method} ${req.path}?${req.query ?? ''} → ${res.status} ${res.text.slice(0, 300)}`;
        if (res.status >= 500) throw new Error(`5xx: ${what}`);
        if (req.valid) {
          const accepted = req.method === 'POST' ? [202] : req.path === '/api/logs' ? [200] : [200, 404];
          if (!accepted.includes(res.status)) throw new Error(`valid request refused: ${what}`);
        } else {
          if (res.status < 400 || res.status >= 500) throw new Error(`invalid request accepted: ${what}`);
          const error = (res.body as { error?: { code?: unknown; message?: unknown } }).error;
          if (typeof error?.code !== 'string' || typeof error.message !== 'string') {
            throw new Error(`no JSON error body: ${what}`);
          }
        }
      }),
      { numRuns: RUNS },
    );
    expect(sent).toBeGreaterThanOrEqual(RUNS);
  });
});
