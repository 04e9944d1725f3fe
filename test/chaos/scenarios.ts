import type { Check, Scenario, ScenarioContext } from './scenario-run';
import type { DeadLetterRecord } from './observe';
import { delay, type StackServer } from './stack';

/**
 * The faults. Every scenario runs the client at a fixed rate on its own topic, group and database;
 * times are seconds after the load started. `quick` shortens the ones `--quick` runs.
 */

const workerKill: Scenario = {
  name: 'worker-kill',
  summary: 'one worker, SIGKILLed three times 15 s apart, a new one started right after each kill',
  recoveryBoundSeconds: 15,
  async run(ctx) {
    await ctx.startApi();
    let worker = await ctx.startWorker();
    await ctx.startLoad();
    for (const at of ctx.quick ? [10] : [12, 27, 42]) {
      await ctx.until(at);
      const killedAt = Date.now();
      worker.signal('SIGKILL');
      ctx.fault(`kill ${worker.name} at ${at} s`, killedAt);
      worker = await ctx.startWorker({ waitReady: false });
    }
    await ctx.until(ctx.quick ? 30 : 57);
  },
};

const rebalance: Scenario = {
  name: 'rebalance',
  summary: 'a second worker joins at 12 s and leaves (SIGTERM) at 30 s',
  recoveryBoundSeconds: 15,
  async run(ctx) {
    await ctx.startApi();
    await ctx.startWorker();
    await ctx.startLoad();
    await ctx.until(12);
    const joinedAt = Date.now();
    const second = await ctx.startWorker({ waitReady: false });
    ctx.fault(`${second.name} joins`, joinedAt);
    await ctx.until(30);
    const leftAt = Date.now();
    await ctx.stopService(second, 'SIGTERM');
    ctx.fault(`${second.name} leaves`, leftAt);
    await ctx.until(45);
  },
};

const failover: Scenario = {
  name: 'failover',
  summary: 'two workers (default group timings); one SIGKILLed, the survivor must take over within 12 s',
  recoveryBoundSeconds: 12,
  async run(ctx) {
    await ctx.startApi();
    await ctx.startWorker();
    const victim = await ctx.startWorker();
    await ctx.startLoad();
    await ctx.until(ctx.quick ? 10 : 15);
    const killedAt = Date.now();
    victim.signal('SIGKILL');
    ctx.fault(`kill ${victim.name}`, killedAt);
    await ctx.until(ctx.quick ? 30 : 40);
  },
};

const apiRestart: Scenario = {
  name: 'api-restart',
  summary: 'API SIGTERMed and restarted on the same port, later SIGKILLed and restarted; the client retries',
  recoveryBoundSeconds: 20,
  async run(ctx) {
    let api = await ctx.startApi();
    await ctx.startWorker();
    await ctx.startLoad();
    const steps: Array<['SIGTERM' | 'SIGKILL', number]> = ctx.quick
      ? [['SIGTERM', 8]]
      : [
          ['SIGTERM', 12],
          ['SIGKILL', 32],
        ];
    for (const [signal, at] of steps) {
      await ctx.until(at);
      const stoppedAt = Date.now();
      await ctx.stopService(api, signal);
      api = await ctx.startApi({ waitReady: false });
      ctx.fault(`${signal} api, restarted after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`, stoppedAt);
    }
    await ctx.until(ctx.quick ? 25 : 48);
  },
};

/** Pauses (SIGSTOP) a server of the private stack for `seconds`, then lets it go on (SIGCONT). */
function pause(server: StackServer, seconds: number, brokerOutage: boolean): Scenario['run'] {
  return async (ctx) => {
    await ctx.startApi();
    await ctx.startWorker();
    await ctx.startLoad();
    await ctx.until(12);
    await ctx.stack.signal(server, 'SIGSTOP');
    // Taken once the signal is delivered, and the end before SIGCONT: a request answered 202
    // inside this window was acknowledged by no broker.
    const from = Date.now();
    ctx.report();
    await ctx.until(12 + seconds);
    const to = Date.now();
    await ctx.stack.signal(server, 'SIGCONT');
    if (brokerOutage) ctx.outages.push({ from, to });
    ctx.fault(`${server} paused ${seconds} s`, from, to);
    await ctx.until(12 + seconds + 25);
  };
}

/** SIGKILLs a server of the private stack, keeps it down for `downSeconds`, and starts it again. */
function killAndRestart(server: StackServer, downSeconds: number, brokerOutage: boolean): Scenario['run'] {
  return async (ctx) => {
    await ctx.startApi();
    await ctx.startWorker();
    await ctx.startLoad();
    await ctx.until(12);
    await ctx.stack.kill(server);
    const from = Date.now();
    await ctx.until(12 + downSeconds);
    const restartAt = Date.now();
    if (brokerOutage) ctx.outages.push({ from, to: restartAt });
    await ctx.stack.up();
    // Recovery counts from when the server answers again: its own start time is not the services'.
    const upAt = Date.now();
    ctx.fault(
      `${server} killed, down ${downSeconds} s, restarted in ${((upAt - restartAt) / 1000).toFixed(1)} s`,
      from,
      upAt,
    );
    await ctx.until(12 + downSeconds + 30);
  };
}

const kafkaPause: Scenario = {
  name: 'kafka-pause',
  summary: 'Kafka SIGSTOPped for 10 s under load, then SIGCONT',
  recoveryBoundSeconds: 30,
  run: pause('kafka', 10, true),
};

const kafkaKill: Scenario = {
  name: 'kafka-kill',
  summary: 'Kafka SIGKILLed, down 5 s, restarted (recovery counted from when it answers again)',
  recoveryBoundSeconds: 20,
  run: killAndRestart('kafka', 5, true),
};

const storePause: Scenario = {
  name: 'store-pause',
  summary: 'FerretDB SIGSTOPped for 15 s under load, then SIGCONT',
  recoveryBoundSeconds: 30,
  run: pause('ferretdb', 15, false),
};

const storeKill: Scenario = {
  name: 'store-kill',
  summary: 'FerretDB SIGKILLed, down 5 s, restarted (recovery counted from when it answers again)',
  recoveryBoundSeconds: 30,
  run: killAndRestart('ferretdb', 5, false),
};

const POISON_COUNT = 3000;
const POISON_KEY = 'poison-user';

const poisonBurst: Scenario = {
  name: 'poison-burst',
  summary: `${POISON_COUNT} schema-invalid messages under one key in a backlog with valid events, then a worker starts`,
  recoveryBoundSeconds: 30,
  drainTimeoutSeconds: 120,
  async run(ctx) {
    await ctx.startApi();
    await ctx.startLoad();
    // Produced straight to the topic, as a client bypassing the API (or an API of another version)
    // could: valid JSON of the wrong shape, ~350 bytes each (so one fetch of a partition holds
    // thousands of them, and their dead letters, larger by the DLQ headers, exceed what one
    // produce request may carry), interleaved with the valid events.
    const producer = ctx.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const chunk = 1000;
      for (let from = 0; from < POISON_COUNT; from += chunk) {
        await producer.send({
          topic: ctx.target.topic,
          acks: -1,
          messages: Array.from({ length: Math.min(chunk, POISON_COUNT - from) }, (_, i) => ({
            key: POISON_KEY,
            value: JSON.stringify({ poison: `p-${from + i}`, v: 1, pad: 'x'.repeat(300) }),
          })),
        });
        await ctx.until(((from / chunk + 1) * 20) / (POISON_COUNT / chunk));
      }
    } finally {
      await producer.disconnect();
    }
    await ctx.until(22);
    const startedAt = Date.now();
    await ctx.startWorker({ waitReady: false });
    ctx.fault('worker started on the backlog', startedAt);
    await ctx.until(40);
  },
  verify(_ctx: ScenarioContext, dlq: readonly DeadLetterRecord[]): Promise<Check[]> {
    const poison = new Set<string>();
    for (const record of dlq) {
      const id = /"poison":"(p-\d+)"/.exec(record.value)?.[1];
      if (id !== undefined) poison.add(id);
      else if (record.key === POISON_KEY) {
        // A letter cut down to fit the broker may lose its value; its source offset still names it.
        poison.add(`${record.headers['dlq-source-partition']}:${record.headers['dlq-source-offset']}`);
      }
    }
    return Promise.resolve([
      {
        name: `all ${POISON_COUNT} poison messages in the DLQ`,
        ok: poison.size >= POISON_COUNT,
        detail: `${poison.size} distinct poison messages in the DLQ (${dlq.length} DLQ records)`,
      },
    ]);
  },
};

const COLD_STARTS = 3;

const coldStart: Scenario = {
  name: 'cold-start',
  summary: `${COLD_STARTS}× a fresh empty broker, api and worker started at the same moment; neither may exit`,
  recoveryBoundSeconds: 30,
  async run(ctx) {
    for (let round = 1; round <= COLD_STARTS; round += 1) {
      // The run's broker is fresh for the first round; later rounds wipe it.
      if (round > 1) await ctx.stack.freshKafka();
      const started = Date.now();
      const [api, worker] = await Promise.all([
        ctx.startApi({ waitReady: false }),
        ctx.startWorker({ waitReady: false }),
      ]);
      const ready = await Promise.allSettled([api.waitReady(60_000), worker.waitReady(60_000)]);
      const problems = ready.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      ctx.checks.push({
        name: `cold start ${round}: both ready`,
        ok: problems.length === 0,
        detail: problems.join('; ') || `ready after ${((Date.now() - started) / 1000).toFixed(1)} s`,
      });
      if (round < COLD_STARTS) {
        await Promise.all([ctx.stopService(api, 'SIGTERM'), ctx.stopService(worker, 'SIGTERM')]);
        await delay(500);
      }
    }
    // The last round's services carry a short load through the oracle.
    await ctx.startLoad();
    const loadAt = Date.now();
    ctx.fault('load on the last cold start', loadAt);
    await ctx.until(10);
  },
};

export const SCENARIOS: readonly Scenario[] = [
  coldStart,
  workerKill,
  rebalance,
  failover,
  apiRestart,
  kafkaPause,
  kafkaKill,
  storePause,
  storeKill,
  poisonBurst,
];

/** What `--quick` runs (and `.ci/run`): the failover target and a restart with client retries. */
export const QUICK = ['failover', 'api-restart'];
