import { createServer, request as httpRequest, type Server } from 'node:http';
import { createApp } from '../app';
import { generateApiKey } from '../auth/api-keys';
import { fakeAppDeps } from '../fake-app';
import { FakeLogReader } from './fake-log-reader';

/** Route behaviour that needs no store: the reader is a fake. */
describe('query routes', () => {
  const key = generateApiKey();
  const reader = new FakeLogReader([], { hang: true });
  let server: Server;
  let port: number;

  beforeAll(async () => {
    const app = createApp(fakeAppDeps({ value: key, scopes: ['read'] }, { reader }));
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('aborts the store read when the client goes away before its answer', async () => {
    for (const path of ['/api/logs?userId=u', '/api/logs/some-id']) {
      const [started, aborted] = [reader.started, reader.aborted.length];
      const req = httpRequest({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${key}` } });
      req.on('error', () => undefined);
      req.end();
      // Once the read has started, the client leaves.
      await waitFor(() => reader.started === started + 1);
      req.destroy();
      await waitFor(() => reader.aborted.length === aborted + 1);
    }
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
