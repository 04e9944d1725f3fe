/**
 * `npm run chaos`: the fault suite. It proves (or disproves) the delivery promise — no acknowledged
 * event lost, none stored twice, recovery without help — with the real api and worker processes
 * over a private Kafka and FerretDB that it pauses and kills (never the shared servers).
 *
 *   npm run chaos                          every scenario (about 10–12 minutes on 2 cores)
 *   npm run chaos -- --quick               the short ones .ci/run uses (a few minutes)
 *   npm run chaos -- --scenario a,b        the named ones
 *
 * Prints a progress line while it runs and a Markdown table at the end, writes a JSON report to
 * .chaos/ (git-ignored), and exits non-zero when a scenario misses a target.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { markdownTable, writeReport } from './report';
import { runScenario, type ScenarioOutcome } from './scenario-run';
import { QUICK, SCENARIOS } from './scenarios';
import { awaitAllServicesGone, killAllServices } from './services';
import { clearPreviousStack, createPrivateStack, type PrivateStack } from './stack';

const root = path.resolve(__dirname, '../..');
const outDir = path.join(root, '.chaos');

function chooseScenarios(): { names: string[]; quick: boolean; mode: string } {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, scenario: { type: 'string' } } });
  if (values.scenario !== undefined) {
    const names = values.scenario.split(',').map((name) => name.trim());
    const unknown = names.filter((name) => !SCENARIOS.some((s) => s.name === name));
    if (unknown.length > 0) {
      throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    }
    return { names, quick: values.quick === true, mode: `--scenario ${names.join(',')}` };
  }
  if (values.quick === true) return { names: QUICK, quick: true, mode: '--quick' };
  return { names: SCENARIOS.map((s) => s.name), quick: false, mode: 'full' };
}

function describeMachine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

function currentCommit(): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=7'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

const lockFile = path.join(outDir, 'run.pid');

/**
 * One run per checkout: a second one would stop the first one's private stack as "left over".
 * The lock is this process's pid; a pid whose process is not a chaos run any more is stale.
 */
function takeLock(): void {
  mkdirSync(outDir, { recursive: true });
  const holder = Number(readFileSync(lockFile, { encoding: 'utf8', flag: 'a+' }).trim());
  if (holder > 0 && holder !== process.pid) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${holder}/cmdline`, 'utf8');
    } catch {
      // gone: the lock is stale
    }
    if (cmdline.includes('chaos/main.ts')) throw new Error(`another chaos run (pid ${holder}) is using this checkout`);
  }
  writeFileSync(lockFile, String(process.pid));
}

function releaseLock(): void {
  try {
    if (readFileSync(lockFile, 'utf8').trim() === String(process.pid)) rmSync(lockFile);
  } catch {
    // no lock: nothing to release
  }
}

let stack: PrivateStack | undefined;
let cleaning: Promise<void> | undefined;

/** Ends every service the suite started and stops the private stack; safe to call more than once. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    killAllServices();
    await awaitAllServicesGone();
    await stack
      ?.down()
      .catch((error: unknown) => console.error(`chaos: stopping the private stack failed: ${String(error)}`));
    releaseLock();
  })();
  return cleaning;
}

async function main(): Promise<number> {
  const { names, quick, mode } = chooseScenarios();
  const startedAt = new Date().toISOString();
  const progress = (line: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const logRoot = path.join(outDir, 'logs', startedAt.replaceAll(':', '-'));

  takeLock();
  progress(`starting a private Kafka and FerretDB (.stack/chaos); service logs in ${path.relative(root, logRoot)}`);
  await clearPreviousStack();
  stack = await createPrivateStack();
  await stack.up();
  progress(`private stack up: KAFKA_BROKERS=${stack.kafkaBrokers} MONGODB_URI=${stack.mongoUri}`);

  const outcomes: ScenarioOutcome[] = [];
  for (const [index, name] of names.entries()) {
    const scenario = SCENARIOS.find((s) => s.name === name);
    if (scenario === undefined) continue;
    progress(`[${index + 1}/${names.length}] ${scenario.name}: ${scenario.summary}`);
    const outcome = await runScenario(stack, scenario, { quick, logRoot, progress });
    outcomes.push(outcome);
    progress(
      `[${index + 1}/${names.length}] ${scenario.name}: ${outcome.pass ? 'PASS' : 'FAIL'} in ${outcome.seconds} s` +
        outcome.checks
          .filter((check) => !check.ok)
          .map((check) => `\n    failed: ${check.name}: ${check.detail}`)
          .join(''),
    );
  }

  await cleanUp();
  const pass = outcomes.length === names.length && outcomes.every((o) => o.pass);
  const commit = currentCommit();
  const machine = describeMachine();
  const file = writeReport(outDir, {
    startedAt,
    finishedAt: new Date().toISOString(),
    commit,
    machine,
    mode,
    pass,
    scenarios: outcomes,
  });
  // Pasted as is into docs/reliability.md after a full run.
  console.log(`\nRun of ${startedAt.slice(0, 16).replace('T', ' ')} UTC, commit ${commit}, ${mode}, on ${machine}:\n`);
  console.log(`${markdownTable(outcomes)}\n`);
  // Not in the "N passed, N failed" form on purpose: CI reads that line as jest's test count.
  console.log(`chaos: ${outcomes.filter((o) => o.pass).length} of ${names.length} scenarios met their targets`);
  console.log(`chaos: report in ${path.relative(root, file)}`);
  return pass ? 0 : 1;
}

// Ctrl-C or a TERM from CI: stop what was started, then exit as interrupted.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`chaos: ${signal}; stopping what the suite started`);
    void cleanUp().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error('chaos: the run failed:', error);
    await cleanUp();
    process.exit(2);
  },
);
