import { createWorkerMetrics } from '../src/metrics';
import { createOpsServer, type OpsServer } from '../src/ops-server';
import { silentLogger } from '../../../test/support/kafka';

describe('ops server', () => {
  const state = { consumer: true, mongodb: true as boolean | 'hang' | 'throw' };
  const metrics = createWorkerMetrics({ defaultMetrics: false });
  let server: OpsServer;
  let base: string;

  beforeAll(async () => {
    server = createOpsServer({
      config: { port: 0, host: '127.0.0.1' },
      readiness: {
        consumer: () => state.consumer,
        mongodb: () => {
          if (state.mongodb === 'hang') return new Promise<boolean>(() => undefined);
          if (state.mongodb === 'throw') return Promise.reject(new Error('server selection timed out'));
          return Promise.resolve(state.mongodb);
        },
      },
      registry: metrics.registry,
      logger: silentLogger,
    });
    base = `http://127.0.0.1:${await server.listen()}`;
  });

  afterAll(async () => {
    await server.close();
  });

  it('answers /healthz and /metrics', async () => {
    metrics.eventsStored.inc(3);
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    expect(await scrape.text()).toContain('worker_events_stored_total 3');
  });

  it('is ready only when every check passes, and names the ones that fail, hang or throw', async () => {
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);

    for (const mongodb of [false, 'hang', 'throw'] as const) {
      state.mongodb = mongodb;
      state.consumer = false;
      const notReady = await fetch(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ failing: ['consumer', 'mongodb'] });
    }
    state.mongodb = true;
    state.consumer = true;
  });
});
