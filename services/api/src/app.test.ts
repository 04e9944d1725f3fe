import pino from 'pino';
import request from 'supertest';
import { createApp } from './app';
import { configurationLine, generateApiKey, KeyRing, parseKeyLines } from './auth/api-keys';
import { FakeDeliveryStore } from './delivery/fake-delivery-store';
import { createApiMetrics } from './metrics';
import { FakeLogReader } from './query/fake-log-reader';
import { LogReadError } from './query/log-reader';

/** What the app answers where the store cannot: clear refusals, never a 500. */
describe('app: store trouble and unstorable input', () => {
  const key = generateApiKey();
  class SlowStore extends FakeLogReader {
    override findByEventId(): never {
      throw new LogReadError('QUERY_TIMEOUT', 'the store did not answer within 3000 ms', undefined);
    }
  }
  const app = createApp({
    config: {
      produce: { timeoutMs: 1000, lingerMs: 0, maxBatchBytes: 100_000, maxBatchEvents: 10 },
      cursorSecret: 'unit-test-cursor-secret',
      rateLimits: { windowSeconds: 60, ingestEvents: 100, readRequests: 100 },
    },
    keys: new KeyRing(parseKeyLines([configurationLine('ops', ['read', 'admin'], key)]).keys),
    publisher: { publish: () => Promise.resolve([]), close: () => Promise.resolve() },
    reader: new SlowStore([]),
    delivery: {
      topic: 't',
      store: new FakeDeliveryStore(),
      watermark: { completeThrough: () => Promise.resolve(null) },
    },
    logger: pino({ level: 'silent' }),
    metrics: createApiMetrics(),
  });
  const as = (req: request.Test) => req.set('Authorization', `Bearer ${key}`);

  it('answers a receipt the store cannot give with 503 and Retry-After', async () => {
    const res = await as(request(app).get('/api/logs/e1/status'));
    expect([res.status, res.body.error.code, res.headers['retry-after']]).toEqual([503, 'QUERY_TIMEOUT', '5']);
  });

  it.each([
    ['DELETE', '/api/users/a%00b/events'],
    ['GET', '/api/dead-letters/t:0:1%00'],
    ['GET', '/api/logs/a%00/status'],
  ])('refuses NUL in the path of %s %s with 400', async (method, path) => {
    const res = await as(method === 'DELETE' ? request(app).delete(path) : request(app).get(path));
    expect([res.status, res.body.error.details]).toEqual([
      400,
      [{ path: '(path)', message: 'must not contain NUL (U+0000)' }],
    ]);
  });
});
