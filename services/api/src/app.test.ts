import request from 'supertest';
import { createApp } from './app';
import { generateApiKey } from './auth/api-keys';
import { fakeAppDeps } from './fake-app';
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
  const app = createApp(fakeAppDeps({ value: key, scopes: ['read', 'admin'] }, { reader: new SlowStore([]) }));
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
