import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

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
  // Near the cap, keep-alive connections that sit idle after an answer are closed rather than new
  // clients refused: such a connection costs its client nothing to hold, so the cap alone would
  // protect file descriptors but not the service. (A connection that never sends a request is
  // cut by the headers timeout.)
  const idle = new Set<Socket>();
  let open = 0;
  const highWater = Math.max(1, Math.floor(limits.maxConnections * 0.9));
  server.on('connection', (socket: Socket) => {
    open += 1;
    socket.once('close', () => {
      open -= 1;
      idle.delete(socket);
    });
    if (open >= highWater) {
      for (const waiting of idle) waiting.destroy();
      idle.clear();
    }
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    idle.delete(req.socket);
    res.once('finish', () => {
      if (!req.socket.destroyed) idle.add(req.socket);
    });
  });
  return server;
}
