import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/service-process';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const STACK_SCRIPT = path.join(root, 'scripts/stack/stack.sh');

export type StackServer = 'kafka' | 'ferretdb';

/**
 * The fault suite's own Kafka and FerretDB, started by `scripts/stack/stack.sh` with a folder and
 * ports of their own, so that pausing and killing them never touches the shared servers other
 * engineers' tests use. Every signal goes to a pid read from this stack's pid files.
 */
export interface PrivateStack {
  readonly kafkaBrokers: string;
  readonly mongoUri: string;
  readonly dir: string;
  /** Starts whatever is not running and waits until both answer. */
  up(): Promise<void>;
  /** Stops both (SIGCONT first, so a paused server can take its SIGTERM). */
  down(): Promise<void>;
  pid(server: StackServer): Promise<number>;
  signal(server: StackServer, signal: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): Promise<void>;
  /** SIGKILL, then wait until the process is gone (a killed JVM releases its port only then). */
  kill(server: StackServer): Promise<void>;
  /** A broker with no topics and no groups: stop Kafka, delete its data, start it again. */
  freshKafka(): Promise<void>;
}

export async function createPrivateStack(dir = path.join(root, '.stack/chaos')): Promise<PrivateStack> {
  const [kafkaPort, controllerPort, ferretPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    STACK_DIR: dir,
    STACK_KAFKA_PORT: String(kafkaPort),
    STACK_CONTROLLER_PORT: String(controllerPort),
    STACK_FERRETDB_PORT: String(ferretPort),
  };
  const stack = (verb: 'up' | 'down') =>
    run('bash', [STACK_SCRIPT, verb], { env, maxBuffer: 8 * 2 ** 20 }).catch((error: unknown) => {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`stack.sh ${verb} failed:\n${stdout}${stderr}`, { cause: error });
    });

  const pid = (server: StackServer) => stackPid(dir, server);

  async function signal(server: StackServer, name: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): Promise<void> {
    process.kill(await pid(server), name);
  }

  async function kill(server: StackServer): Promise<void> {
    const target = await pid(server);
    process.kill(target, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    while (isAlive(target) && Date.now() < deadline) await delay(100);
  }

  async function down(): Promise<void> {
    // A stopped process cannot act on SIGTERM; stack.sh would wait 30 s before its SIGKILL.
    for (const server of ['kafka', 'ferretdb'] as const) {
      await signal(server, 'SIGCONT').catch(() => undefined);
    }
    await stack('down');
  }

  return {
    kafkaBrokers: `127.0.0.1:${kafkaPort}`,
    mongoUri: `mongodb://127.0.0.1:${ferretPort}`,
    dir,
    up: async () => void (await stack('up')),
    down,
    pid,
    signal,
    kill,
    async freshKafka() {
      await kill('kafka');
      await rm(path.join(dir, 'kafka/data'), { recursive: true, force: true });
      await stack('up');
    },
  };
}

/**
 * Stops what a previous run left (an interrupted run, or a crash) and deletes its data, so every
 * run starts from an empty broker and store. Ports are new each run; the pid files are enough.
 */
export async function clearPreviousStack(dir = path.join(root, '.stack/chaos')): Promise<void> {
  for (const server of ['kafka', 'ferretdb'] as const) {
    const pid = await stackPid(dir, server).catch(() => undefined);
    if (pid !== undefined) process.kill(pid, 'SIGCONT');
  }
  await run('bash', [STACK_SCRIPT, 'down'], { env: { ...process.env, STACK_DIR: dir } }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

/**
 * The pid in this stack's pid file, only while that process is still one of this stack's servers
 * (its command line names the stack's folder): a stale pid that the system gave to another
 * program is never signalled.
 */
async function stackPid(dir: string, server: StackServer): Promise<number> {
  const file = path.join(dir, `${server}.pid`);
  const pid = Number((await readFile(file, 'utf8')).trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no pid for ${server} in ${file}`);
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes(dir)) throw new Error(`${server} (pid ${pid} in ${file}) is not running`);
  return pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
