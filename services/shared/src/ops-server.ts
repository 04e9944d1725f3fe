import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger';
import { withTimeLimit } from './time-limit';

/**
 * What a check found: true/false, or an object with details for the /readyz body (a partition
 * that stalls, say). A check that throws or does not answer within the check timeout fails.
 */
export type CheckResult = boolean | { readonly ok: boolean; readonly detail?: unknown };
export type Check = () => CheckResult | Promise<CheckResult>;

export interface OpsServerConfig {
  readonly port: number;
  readonly host: string;
}

export interface OpsChecks {
  /** All must pass for /readyz to answer 200: what the service needs to do its job. */
  readonly readiness: Readonly<Record<string, Check>>;
  /** All must pass for /healthz to answer 200; none means "alive while it answers". */
  readonly liveness?: Readonly<Record<string, Check>>;
  /** Reported in the /readyz body and never decisive (the API's store: ingest does not need it). */
  readonly informational?: Readonly<Record<string, Check>>;
}

export interface OpsServer {
  /** Resolves with the port actually bound (useful with port 0). */
  listen(): Promise<number>;
  /** From now on /readyz answers 503 `draining`: the first step of a graceful shutdown. */
  drain(): void;
  close(): Promise<void>;
}

/**
 * Below the probes' own timeoutSeconds (k8s/ sets 3 s), so a slow dependency reads as "failing"
 * rather than as a probe that timed out.
 */
export const CHECK_TIMEOUT_MS = 2000;

/**
 * Each service's small HTTP server for the platform — liveness, readiness and Prometheus metrics —
 * on a port of its own, so that publishing the API never publishes these. Plain node:http: it
 * serves no events, and must keep answering while the API's Express app is busy or draining.
 */
export function createOpsServer(deps: {
  config: OpsServerConfig;
  checks: OpsChecks;
  registry: Registry;
  logger: Logger;
  checkTimeoutMs?: number;
}): OpsServer {
  const { config, checks, registry } = deps;
  const checkTimeoutMs = deps.checkTimeoutMs ?? CHECK_TIMEOUT_MS;
  const logger = deps.logger.child({ component: 'ops-server' });
  let draining = false;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return send(response, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'only GET is served here' } });
    }
    if (path === '/healthz') {
      const live = await runChecks(checks.liveness ?? {}, checkTimeoutMs);
      return live.failing.length === 0
        ? send(response, 200, { status: 'ok', ...withChecks(live.checks) })
        : send(response, 503, { status: 'not_live', failing: live.failing, checks: live.checks });
    }
    if (path === '/readyz') {
      const [ready, info] = await Promise.all([
        runChecks(checks.readiness, checkTimeoutMs),
        runChecks(checks.informational ?? {}, checkTimeoutMs),
      ]);
      const all = { ...ready.checks, ...info.checks };
      if (draining) return send(response, 503, { status: 'draining', failing: [], checks: all });
      return ready.failing.length === 0
        ? send(response, 200, { status: 'ready', checks: all })
        : send(response, 503, { status: 'not_ready', failing: ready.failing, checks: all });
    }
    if (path === '/metrics') {
      response.writeHead(200, { 'content-type': registry.contentType });
      response.end(await registry.metrics());
      return;
    }
    return send(response, 404, { error: { code: 'NOT_FOUND', message: `no route for ${path}` } });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error }, 'ops request failed');
      if (!response.headersSent) send(response, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      else response.destroy();
    });
  });

  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    drain: () => {
      draining = true;
    },
    close: () =>
      new Promise((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

type CheckReport = { status: 'ok' | 'failing'; detail?: unknown } | 'ok' | 'failing';

async function runChecks(
  named: Readonly<Record<string, Check>>,
  timeoutMs: number,
): Promise<{ failing: string[]; checks: Record<string, CheckReport> }> {
  const results = await Promise.all(
    Object.entries(named).map(async ([name, check]) => [name, await runCheck(check, timeoutMs)] as const),
  );
  return {
    failing: results.filter(([, result]) => !result.ok).map(([name]) => name),
    checks: Object.fromEntries(
      results.map(([name, { ok, detail }]) => {
        const status = ok ? 'ok' : 'failing';
        return [name, detail === undefined ? status : { status, detail }];
      }),
    ),
  };
}

function withChecks(checks: Record<string, CheckReport>): { checks?: Record<string, CheckReport> } {
  return Object.keys(checks).length === 0 ? {} : { checks };
}

/** A check that throws or does not answer in time counts as failing, never as a hung probe. */
async function runCheck(check: Check, timeoutMs: number): Promise<{ ok: boolean; detail?: unknown }> {
  try {
    const result = await withTimeLimit(Promise.resolve().then(check), timeoutMs, () => ({
      ok: false,
      detail: `no answer within ${timeoutMs} ms`,
    }));
    return typeof result === 'boolean' ? { ok: result } : result;
  } catch {
    return { ok: false };
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}
