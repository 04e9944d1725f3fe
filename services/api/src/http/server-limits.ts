import type { Server, ServerOptions } from 'node:http';

export interface ServerLimits {
  /** Longest time to receive a whole request, headers and body (a slow body is cut off). */
  readonly requestTimeoutMs: number;
  /** Longest time to receive a request's headers. */
  readonly headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open; above a load balancer's idle timeout. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections per process; more are refused, so one client cannot take every fd. */
  readonly maxConnections: number;
  readonly maxHeadersCount: number;
}

/**
 * Options for `createServer`: the ones that can only be given at creation. Timeouts are checked
 * every `connectionsCheckingInterval` (Node's default 30 s would let a 30 s timeout run to 60 s).
 */
export function serverOptions(limits: ServerLimits): ServerOptions {
  return {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
}

/** The limits that are properties of a server; set deliberately rather than left at Node's defaults. */
export function applyServerLimits(server: Server, limits: ServerLimits): Server {
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.maxHeadersCount = limits.maxHeadersCount;
  return server;
}
