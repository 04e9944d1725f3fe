import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '@activity-logger/shared';
import type { OpsServerConfig } from './config';

/** A named readiness check: true when the dependency is usable right now. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface OpsServer {
  /** Resolves with the port actually bound (useful with port 0). */
  listen(): Promise<number>;
  close(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 1000;

/**
 * The worker's own small HTTP server for the platform: liveness, readiness and metrics. It
 * serves nothing about events, so plain node:http is enough.
 */
export function createOpsServer(deps: {
  config: OpsServerConfig;
  readiness: Readonly<Record<string, ReadinessCheck>>;
  registry: Registry;
  logger: Logger;
}): OpsServer {
  const { config, readiness, registry } = deps;
  const logger = deps.logger.child({ component: 'ops-server' });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return send(response, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'only GET is served here' } });
    }
    if (path === '/healthz') return send(response, 200, { status: 'ok' });
    if (path === '/readyz') {
      const results = await Promise.all(
        Object.entries(readiness).map(async ([name, check]) => [name, await runCheck(check)] as const),
      );
      const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
      const checks = Object.fromEntries(results.map(([name, ok]) => [name, ok ? 'ok' : 'failing']));
      return failing.length === 0
        ? send(response, 200, { status: 'ready', checks })
        : send(response, 503, { status: 'not_ready', failing, checks });
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
    close: () =>
      new Promise((resolve, reject) => {
        if (!server.listening) return resolve();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A check that throws or does not answer in time counts as failing, never as a hung probe. */
async function runCheck(check: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}
