import { backOff } from 'exponential-backoff';
import { AppError, ConfigError } from './errors';
import type { Logger } from './logger';
import { withTimeLimit } from './time-limit';

const OVERRUN = Symbol('overrun');

/**
 * What both services do alike around their work: retry what is retriable while starting, stop
 * their parts in order, and own the process's signals and exit code. Only a composition root
 * (`main.ts`) calls `runProcess`; everything else returns errors as values or throws them.
 */

/** A dependency could not be reached before the startup deadline (or refused us for good). */
export class StartupError extends AppError {
  constructor(what: string, cause: unknown) {
    super('STARTUP_FAILED', `${what}: ${describe(cause)}`, { cause });
  }
}

/**
 * Runs one startup step (connect, create topics, create indexes), retrying with exponential
 * backoff and jitter until `deadline` (epoch ms), so a broker or store that is still starting —
 * the usual case on a fresh cluster or `docker compose up` — delays the service instead of
 * killing it. Failures that no retry can mend (bad credentials) end at once. Throws a
 * StartupError that names the step and the last cause.
 */
export async function retryStartupStep<T>(
  what: string,
  step: () => Promise<T>,
  options: { deadline: number; logger: Logger; initialDelayMs?: number; maxDelayMs?: number },
): Promise<T> {
  try {
    return await backOff(step, {
      numOfAttempts: Number.MAX_SAFE_INTEGER,
      startingDelay: options.initialDelayMs ?? 250,
      maxDelay: options.maxDelayMs ?? 5000,
      jitter: 'full',
      retry: (error: unknown, attempt: number) => {
        if (isPermanentStartupFailure(error) || Date.now() >= options.deadline) return false;
        options.logger.warn({ step: what, attempt, err: error }, `${what} failed; retrying`);
        return true;
      },
    });
  } catch (error) {
    throw new StartupError(what, error);
  }
}

/** Authentication and authorization failures: waiting does not make credentials right. */
export function isPermanentStartupFailure(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (current.name === 'KafkaJSSASLAuthenticationError') return true;
    const { code } = current as { code?: unknown };
    // MongoDB: 18 AuthenticationFailed, 13 Unauthorized.
    if (current.name.startsWith('Mongo') && (code === 18 || code === 13)) return true;
  }
  return false;
}

/** A part to stop: its name, how to stop it, and how long that may take (default 5 s). */
export type StopStep = readonly [name: string, stop: () => Promise<unknown> | undefined, timeoutMs?: number];

/**
 * Stops parts in the given order, each even when an earlier one failed or hung: a failure is
 * logged, not thrown, and a part that does not stop within its time is left behind (logged) so the
 * next one still gets its turn — a broker or store that does not answer must not turn a clean
 * shutdown into a forced exit.
 */
export async function stopInOrder(logger: Logger, steps: readonly StopStep[]): Promise<void> {
  for (const [name, stop, timeoutMs = 5000] of steps) {
    try {
      const outcome = await withTimeLimit(Promise.resolve().then(stop), timeoutMs, () => OVERRUN);
      if (outcome === OVERRUN) logger.warn({ component: name, timeoutMs }, 'did not stop in time; moving on');
    } catch (error) {
      logger.warn({ err: error, component: name }, 'could not stop cleanly');
    }
  }
}

/**
 * Parses the configuration at start, or exits 1 with the message that names every bad variable.
 * Only a composition root calls this: it is one of the two places that may end the process.
 */
export function loadConfigOrExit<T>(name: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

export interface ProcessHandle {
  /** Stops (once) and exits with `code`; 1 instead when stopping fails or overruns the deadline. */
  exit(code: 0 | 1, reason: string, error?: unknown): void;
}

/**
 * Owns the process: runs `start`, and on SIGTERM/SIGINT (exit 0), a failed start, an uncaught
 * exception or an unhandled rejection (exit 1) runs `stop` once within `shutdownTimeoutMs`.
 */
export function runProcess(options: {
  name: string;
  logger: Logger;
  shutdownTimeoutMs: number;
  start: (handle: ProcessHandle) => Promise<void>;
  stop: () => Promise<void>;
}): ProcessHandle {
  const { logger } = options;
  let exiting = false;

  const handle: ProcessHandle = {
    exit(code, reason, error) {
      if (exiting) return;
      exiting = true;
      if (error === undefined) logger.info({ reason }, `${options.name} stopping`);
      else logger.fatal({ reason, err: error }, `${options.name} stopping after a fatal error`);
      const deadline = setTimeout(() => {
        logger.error({ timeoutMs: options.shutdownTimeoutMs }, 'shutdown deadline passed; exiting anyway');
        process.exit(1);
      }, options.shutdownTimeoutMs);
      options.stop().then(
        () => {
          clearTimeout(deadline);
          logger.info({ reason, exitCode: code }, `${options.name} stopped`);
          process.exit(code);
        },
        (stopError: unknown) => {
          logger.error({ err: stopError }, `${options.name} did not stop cleanly`);
          process.exit(1);
        },
      );
    },
  };

  process.on('SIGTERM', () => handle.exit(0, 'SIGTERM'));
  process.on('SIGINT', () => handle.exit(0, 'SIGINT'));
  process.on('uncaughtException', (error) => handle.exit(1, 'uncaught exception', error));
  process.on('unhandledRejection', (error) => handle.exit(1, 'unhandled rejection', error));
  options.start(handle).catch((error: unknown) => handle.exit(1, 'startup failed', error));
  return handle;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
