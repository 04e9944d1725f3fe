import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { connectMongo } from '@activity-logger/shared';
import { LoadGenerator } from './load';
import { judge, type Check, type ScenarioOutcome } from './verdict';
import {
  awaitCommittedAtEnd,
  observerKafka,
  ProgressMonitor,
  readStore,
  readWholeTopic,
  withTimeout,
  type DeadLetterRecord,
} from './observe';
import { startService, type RunningService, type ServiceTarget } from './services';
import { delay, type PrivateStack } from './stack';

export type { Check, ScenarioOutcome } from './verdict';

export const RATE_PER_SECOND = 200;

/** A fault the scenario injected; recovery is measured from `clearedAt` (when the fault was removed). */
export interface Fault {
  readonly name: string;
  readonly at: number;
  readonly clearedAt: number;
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  /** Seconds from a fault's removal until every partition with work waiting commits again. */
  readonly recoveryBoundSeconds: number;
  readonly drainTimeoutSeconds?: number;
  run(ctx: ScenarioContext): Promise<void>;
  /** Extra pass/fail checks once the pipeline has drained (e.g. the poison burst's DLQ). */
  verify?(ctx: ScenarioContext, dlq: readonly DeadLetterRecord[]): Promise<Check[]>;
}

/**
 * What a scenario works with: its own topic, group and database on the private stack, the
 * services it started, the load generator and the progress monitor, and a record of its faults.
 */
export class ScenarioContext {
  readonly target: ServiceTarget;
  readonly faults: Fault[] = [];
  /** Windows in which no request may be answered 202 (Kafka could not acknowledge anything). */
  readonly outages: Array<{ from: number; to: number }> = [];
  readonly services: RunningService[] = [];
  readonly notes: string[] = [];
  readonly checks: Check[] = [];
  load: LoadGenerator | undefined;
  loadStartedAt = 0;
  private apiPort: number | undefined;
  private serial = 0;
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly monitor: ProgressMonitor;

  constructor(
    readonly stack: PrivateStack,
    readonly scenario: Scenario,
    readonly quick: boolean,
    readonly logDir: string,
    private readonly progress: (line: string) => void,
  ) {
    const tag = `${scenario.name}-${randomBytes(3).toString('hex')}`;
    this.target = {
      kafkaBrokers: stack.kafkaBrokers,
      mongoUri: stack.mongoUri,
      database: `chaos-${tag}`,
      topic: `chaos-${tag}`,
      groupId: `chaos-${tag}-workers`,
    };
    this.kafka = observerKafka(stack.kafkaBrokers);
    this.admin = this.kafka.admin();
    this.monitor = new ProgressMonitor(this.admin, this.target.topic, this.target.groupId);
  }

  get apiUrl(): string {
    if (this.apiPort === undefined) throw new Error('no API started yet');
    return `http://127.0.0.1:${this.apiPort}`;
  }

  async startApi(options: { waitReady?: boolean } = {}): Promise<RunningService> {
    const api = await startService('api', this.target, {
      label: `api-${++this.serial}`,
      logDir: this.logDir,
      ...(this.apiPort === undefined ? {} : { port: this.apiPort }),
    });
    this.apiPort = api.port;
    this.services.push(api);
    if (options.waitReady !== false) await api.waitReady(60_000);
    return api;
  }

  async startWorker(options: { waitReady?: boolean } = {}): Promise<RunningService> {
    const worker = await startService('worker', this.target, { label: `worker-${++this.serial}`, logDir: this.logDir });
    this.services.push(worker);
    if (options.waitReady !== false) await worker.waitReady(60_000);
    else {
      // A replacement is not waited for (the load goes on), but one that never gets ready is noted.
      worker.waitReady(60_000).catch((error: Error) => this.notes.push(error.message));
    }
    return worker;
  }

  /** Starts the client at the fixed rate, once the topic exists (its partition count is needed). */
  async startLoad(): Promise<void> {
    await this.admin.connect();
    const metadata = await this.admin.fetchTopicMetadata({ topics: [this.target.topic] });
    const partitions = metadata.topics[0]?.partitions.length ?? 0;
    if (partitions === 0) throw new Error(`topic ${this.target.topic} has no partitions`);
    this.load = new LoadGenerator({
      apiUrl: () => this.apiUrl,
      ratePerSecond: RATE_PER_SECOND,
      partitions,
      scenario: this.scenario.name,
    });
    this.monitor.start();
    this.load.start();
    this.loadStartedAt = Date.now();
  }

  /** Waits until `seconds` after the load started, printing progress meanwhile. */
  async until(seconds: number): Promise<void> {
    const target = this.loadStartedAt + seconds * 1000;
    while (Date.now() < target) {
      this.report();
      await delay(Math.min(5000, target - Date.now()));
    }
  }

  fault(name: string, at: number, clearedAt = Date.now()): void {
    this.faults.push({ name, at, clearedAt });
    this.progress(`${this.scenario.name}: ${name}`);
  }

  /** SIGTERM (or SIGKILL) a service and wait for it to exit, bounded. */
  async stopService(service: RunningService, signal: 'SIGTERM' | 'SIGKILL', timeoutMs = 40_000): Promise<void> {
    service.signal(signal);
    const gone = await withTimeout(service.exited, timeoutMs, `${service.name} to exit`).catch(() => undefined);
    if (gone === undefined) {
      this.notes.push(`${service.name} did not exit within ${timeoutMs} ms of ${signal}; killed`);
      service.signal('SIGKILL');
      await service.exited;
    }
  }

  report(): void {
    const load = this.load;
    if (load === undefined) return;
    const t = Math.round((Date.now() - this.loadStartedAt) / 1000);
    const { accepted, unavailable, connectionErrors, timeouts } = load.counts;
    const last = this.monitor.samples.at(-1);
    const lag = last === undefined ? '?' : last.end.reduce((sum, end, p) => sum + end - (last.committed[p] ?? 0), 0);
    this.progress(
      `${this.scenario.name} t=${t}s sent=${load.events.length} acked=${load.ackedCount} 202s=${accepted} 503s=${unavailable} conn_err=${connectionErrors} timeouts=${timeouts} lag=${lag}`,
    );
  }
}

/**
 * Runs one scenario from start to verdict: its own steps, then the common end: stop the load,
 * wait for the pipeline to drain (bounded), read back everything from the store and the DLQ, and
 * judge against the targets. Whatever happens, the scenario's services are stopped.
 */
export async function runScenario(
  stack: PrivateStack,
  scenario: Scenario,
  options: { quick: boolean; logRoot: string; progress: (line: string) => void },
): Promise<ScenarioOutcome> {
  const started = Date.now();
  const logDir = path.join(options.logRoot, scenario.name);
  const ctx = new ScenarioContext(stack, scenario, options.quick, logDir, options.progress);
  const mongo = await connectMongo({ uri: `${stack.mongoUri}/?socketTimeoutMS=90000`, dbName: ctx.target.database });
  const db = mongo.getClient().db(ctx.target.database);
  let failure: Error | undefined;
  let drainSeconds: number | null = null;
  let committedAtEnd = false;
  let stored = new Map<number, number>();
  let dlq: DeadLetterRecord[] = [];
  try {
    await scenario.run(ctx);
    const load = ctx.load;
    if (load === undefined) throw new Error('the scenario never started the load');
    ctx.report();
    await load.stop();
    const loadEnded = Date.now();
    const drainDeadline = loadEnded + (scenario.drainTimeoutSeconds ?? 90) * 1000;
    // Drained = every partition committed to its end, and every acknowledged event is in the store.
    const committed = await awaitCommittedAtEnd(
      ctx.admin,
      ctx.target.topic,
      ctx.target.groupId,
      drainDeadline - Date.now(),
    );
    committedAtEnd = committed.ok;
    const acked = load.events.filter((event) => event.acked);
    for (;;) {
      stored = await readStore(db, load.runTag);
      if (acked.every((event) => stored.has(event.seq)) && committedAtEnd) {
        drainSeconds = (Date.now() - loadEnded) / 1000;
        break;
      }
      if (Date.now() > drainDeadline) break;
      await delay(3000);
      if (!committedAtEnd)
        committedAtEnd = (await awaitCommittedAtEnd(ctx.admin, ctx.target.topic, ctx.target.groupId, 1)).ok;
    }
    dlq = await readWholeTopic(ctx.kafka, ctx.admin, `${ctx.target.topic}.dlq`);
    if (scenario.verify !== undefined) ctx.checks.push(...(await scenario.verify(ctx, dlq)));
  } catch (error) {
    failure = error as Error;
  } finally {
    await ctx.load?.stop().catch(() => undefined);
    await ctx.monitor.stop();
    await Promise.all(ctx.services.map((service) => ctx.stopService(service, 'SIGTERM', 30_000)));
    await ctx.admin.disconnect().catch(() => undefined);
    await mongo.close().catch(() => undefined);
  }
  return judge(ctx, { started, failure, drainSeconds, committedAtEnd, stored, dlq, logDir });
}
