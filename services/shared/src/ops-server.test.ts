import pino from 'pino';
import { Counter, Registry } from 'prom-client';
import { createOpsServer, type CheckResult, type OpsServer } from './ops-server';

type Behaviour = boolean | 'hang' | 'throw';

function check(state: { value: Behaviour }): () => Promise<CheckResult> {
  return () => {
    if (state.value === 'hang') return new Promise<boolean>(() => undefined);
    if (state.value === 'throw') return Promise.reject(new Error('server selection timed out'));
    return Promise.resolve(state.value);
  };
}

describe('ops server', () => {
  const consumer = { value: true as Behaviour };
  const kafka = { value: true as Behaviour };
  const store = { value: true as Behaviour };
  const progress = { value: true as Behaviour };
  const registry = new Registry();
  const stored = new Counter({ name: 'events_stored_total', help: 'test', registers: [registry] });
  let server: OpsServer;
  let base: string;

  beforeAll(async () => {
    server = createOpsServer({
      config: { port: 0, host: '127.0.0.1' },
      checks: {
        readiness: { consumer: check(consumer), kafka: check(kafka) },
        informational: { mongodb: check(store) },
        liveness: { progress: () => (progress.value === true ? true : { ok: false, detail: { stalledSeconds: 700 } }) },
      },
      registry,
      logger: pino({ level: 'silent' }),
      checkTimeoutMs: 300,
    });
    base = `http://127.0.0.1:${await server.listen()}`;
  });

  afterAll(async () => {
    await server.close();
  });

  afterEach(() => {
    consumer.value = kafka.value = store.value = progress.value = true;
  });

  it('answers /healthz and /metrics', async () => {
    stored.inc(3);
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok', checks: { progress: 'ok' } }]);
    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    expect(await scrape.text()).toContain('events_stored_total 3');
  });

  it('is ready only when every readiness check passes, and names the ones that fail, hang or throw', async () => {
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([
      200,
      { status: 'ready', checks: { consumer: 'ok', kafka: 'ok', mongodb: 'ok' } },
    ]);

    for (const behaviour of [false, 'hang', 'throw'] as const) {
      consumer.value = behaviour;
      kafka.value = behaviour;
      const notReady = await fetch(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ status: 'not_ready', failing: ['consumer', 'kafka'] });
    }
  });

  it('reports an informational check without letting it decide readiness', async () => {
    store.value = 'hang';
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { mongodb: { status: 'failing' } } });
  });

  it('fails liveness with the check detail', async () => {
    progress.value = false;
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.json()]).toEqual([
      503,
      {
        status: 'not_live',
        failing: ['progress'],
        checks: { progress: { status: 'failing', detail: { stalledSeconds: 700 } } },
      },
    ]);
  });

  it('answers /readyz 503 once draining, whatever the checks say', async () => {
    server.drain();
    const draining = await fetch(`${base}/readyz`);
    expect([draining.status, await draining.json()]).toMatchObject([503, { status: 'draining' }]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
