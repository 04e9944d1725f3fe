import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy from a random 127.0.0.1 port to `target`, for outage tests: `cut()` destroys every
 * open connection and refuses new ones (accepted, then closed at once) until `restore()`. The
 * client sees what a crashed or partitioned server looks like: resets, not slow answers.
 */
export interface TcpProxy {
  readonly port: number;
  cut(): void;
  /**
   * Stops forwarding in both directions while keeping every connection open, and takes new ones
   * without forwarding them: a half-open network, where requests get no answer and no error.
   */
  freeze(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const frozen = new Set<Socket>();
  let isCut = false;
  let isFrozen = false;

  const server = createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    if (isFrozen) {
      client.on('error', () => client.destroy());
      client.pause();
      frozen.add(client);
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const forget = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });

  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      isCut = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    freeze() {
      isFrozen = true;
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
        frozen.add(socket);
      }
    },
    restore() {
      isCut = false;
      if (isFrozen) {
        // What hung stays dead, as after a real partition: clients must reconnect.
        isFrozen = false;
        for (const socket of frozen) socket.destroy();
        frozen.clear();
      }
    },
    close() {
      isCut = true;
      for (const socket of [...sockets, ...frozen]) socket.destroy();
      sockets.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
