import { eventually } from '../../../test/support/eventually';
import { waitReady } from '../../../test/support/service-process';
import {
  expectStoredExactlyOnce,
  produceEvents,
  storedCount,
  testEvents,
  waitForCommitsAtHighWatermark,
  workerProcessEnvironment,
  type WorkerProcessEnvironment,
} from './harness';

const SHUTDOWN_BUDGET_MS = 25_000;

describe('worker process and SIGTERM', () => {
  let env: WorkerProcessEnvironment;

  beforeAll(async () => {
    env = await workerProcessEnvironment('sigterm', 4);
  });

  afterAll(async () => {
    await env.close();
  });

  it('exits 0 within the grace period mid-stream, and a successor stores every event exactly once', async () => {
    const events = testEvents(2000, 'sigterm', 50);
    const chunks = Array.from({ length: 20 }, (_, i) => events.slice(i * 100, (i + 1) * 100));
    const { worker: first, ops } = await env.startWorker({ LOG_LEVEL: 'warn' });
    await waitReady(first, `${ops}/readyz`);

    let signalledAt = 0;
    for (const [index, chunk] of chunks.entries()) {
      await produceEvents(env.producer, env.topic, chunk);
      // Half the events are out and the worker is busy with them: stop it as soon as it stored any.
      if (index === 9) {
        await eventually(async () => ((await storedCount(env.model)) > 0 ? true : undefined), {
          intervalMs: 10,
          what: 'a first stored event',
        });
        first.child.kill('SIGTERM');
        signalledAt = Date.now();
      }
    }
    const code = await first.exited();
    const shutdownMs = Date.now() - signalledAt;
    expect({ code, output: code === 0 ? '' : first.output() }).toEqual({ code: 0, output: '' });
    expect(shutdownMs).toBeLessThan(SHUTDOWN_BUDGET_MS);
    const storedByFirst = await storedCount(env.model);
    expect(storedByFirst).toBeGreaterThan(0);
    expect(storedByFirst).toBeLessThan(events.length);

    const { worker: second } = await env.startWorker({ LOG_LEVEL: 'warn' });
    await eventually(async () => ((await storedCount(env.model)) === events.length ? true : undefined), {
      timeoutMs: 60_000,
      what: `all ${events.length} events stored`,
    });
    await waitForCommitsAtHighWatermark(env.admin, env.groupId, env.topic);
    await expectStoredExactlyOnce(env.model, events);

    expect(await second.stop('SIGTERM')).toBe(0);
  });
});
