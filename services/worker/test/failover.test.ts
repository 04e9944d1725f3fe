import { eventually } from '../../../test/support/eventually';
import { waitReady } from '../../../test/support/service-process';
import {
  expectStoredExactlyOnce,
  produceEvents,
  testEvents,
  workerProcessEnvironment,
  type WorkerProcessEnvironment,
} from './harness';

/**
 * Issue 6 (3): a SIGKILLed worker leaves no goodbye; its partitions move only when its session
 * expires. With the default session (KAFKA_SESSION_TIMEOUT_MS, 8 s) the survivor must store the
 * dead member's partitions again within about 12 s — kafkajs' own default (30 s) could not.
 */
describe('two workers, one killed', () => {
  let env: WorkerProcessEnvironment;

  beforeAll(async () => {
    env = await workerProcessEnvironment('failover', 4);
  });

  afterAll(async () => {
    await env.close();
  });

  async function start() {
    const started = await env.startWorker();
    await waitReady(started.worker, `${started.ops}/readyz`);
    return started;
  }

  /** The partitions a worker owns, read from its lag gauge (it lists owned partitions only). */
  async function owned(ops: string): Promise<string[]> {
    const text = await (await fetch(`${ops}/metrics`)).text();
    return [...text.matchAll(/^worker_consumer_lag\{[^}]*partition="(\d+)"[^}]*\}/gm)].map((m) => m[1] ?? '');
  }

  it('moves the dead member’s partitions to the survivor, which stores again within 12 s', async () => {
    const first = await start();
    const second = await start();
    const before = testEvents(400, 'failover-before', 40);
    await produceEvents(env.producer, env.topic, before);
    await eventually(
      async () => {
        const [a, b] = await Promise.all([owned(first.ops), owned(second.ops)]);
        return a.length > 0 && b.length > 0 && a.length + b.length === 4 ? true : undefined;
      },
      { what: 'both workers to own partitions' },
    );
    await eventually(async () => ((await env.model.countDocuments()) === before.length ? true : undefined), {
      what: 'the first events stored',
    });

    first.worker.child.kill('SIGKILL');
    const killedAt = Date.now();
    const after = testEvents(400, 'failover-after', 40); // 40 users: every partition gets some
    await produceEvents(env.producer, env.topic, after);
    await eventually(
      async () => ((await env.model.countDocuments()) === before.length + after.length ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200, what: 'every event produced after the kill stored' },
    );
    const resumedInMs = Date.now() - killedAt;
    process.stdout.write(`failover: survivor stored the dead member's partitions ${resumedInMs} ms after SIGKILL\n`);

    expect(resumedInMs).toBeLessThan(12_000);
    // The lag gauge lists a partition once its lag is known (a batch or the next lag check).
    await eventually(async () => ((await owned(second.ops)).length === 4 ? true : undefined), {
      what: 'the survivor to report all four partitions as its own',
    });
    await expectStoredExactlyOnce(env.model, [...before, ...after]);
    expect(await second.worker.stop('SIGTERM')).toBe(0);
  });
});
