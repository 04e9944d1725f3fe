import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { applyServerLimits, serverOptions, type ServerLimits } from './server-limits';

/** A real server on a loopback port, with small limits so that each one is reached quickly. */
describe('HTTP server limits', () => {
  const limits: ServerLimits = {
    requestTimeoutMs: 2000,
    headersTimeoutMs: 1000,
    keepAliveTimeoutMs: 5000,
    maxConnections: 3,
    maxHeadersCount: 20,
  };
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = applyServerLimits(
      createServer(serverOptions(limits), (req, res) => {
        req.resume();
        req.on('end', () => res.end('ok'));
      }),
      limits,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function open(): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('error', () => undefined);
      const started = performance.now();
      const closed = new Promise<number>((done) => socket.on('close', () => done(performance.now() - started)));
      socket.on('connect', () => resolve({ socket, received: () => data, closed }));
    });
  }

  it('answers 408 to a body that arrives too slowly, within the request timeout and a check interval', async () => {
    const { socket, received, closed } = await open();
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    const ms = await closed;
    expect(received()).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeGreaterThanOrEqual(limits.requestTimeoutMs - 100);
    expect(ms).toBeLessThan(limits.requestTimeoutMs + 1500);
  });

  it('cuts off headers that arrive too slowly', async () => {
    const { socket, closed } = await open();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const ms = await closed;
    expect(ms).toBeLessThan(limits.headersTimeoutMs + 1500);
  });

  it('keeps an idle keep-alive connection past the headers timeout, for the next request', async () => {
    const { socket, received } = await open();
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => received().includes('ok'));
    await new Promise((resolve) => setTimeout(resolve, limits.headersTimeoutMs + 1200));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => received().split('HTTP/1.1 200').length === 3);
  });

  it('near the cap, closes connections left idle after an answer to make room for a new client', async () => {
    for (const socket of sockets) socket.destroy();
    await waitFor(() => new Promise<boolean>((resolve) => server.getConnections((_e, n) => resolve(n === 0))));
    const holders = [await open(), await open()];
    for (const { socket, received } of holders) {
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(() => received().includes('ok'));
    }
    const newcomer = await open();
    newcomer.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => newcomer.received().includes('ok'));
    await Promise.all(holders.map(({ closed }) => closed));
  });

  it('refuses connections beyond maxConnections', async () => {
    for (const socket of sockets) socket.destroy();
    await waitFor(() => new Promise<boolean>((resolve) => server.getConnections((_e, n) => resolve(n === 0))));
    const held = await Promise.all([open(), open(), open()]);
    await waitFor(() => new Promise<boolean>((resolve) => server.getConnections((_e, n) => resolve(n === 3))));
    const extra = await open();
    const ms = await extra.closed;
    expect(ms).toBeLessThan(1000);
    expect(held.every(({ socket }) => !socket.destroyed)).toBe(true);
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
