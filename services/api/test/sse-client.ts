import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { eventually } from '../../../test/support/eventually';

export interface SseMessage {
  readonly id?: string;
  readonly event: string;
  readonly data: unknown;
}

/** A Server-Sent Events reader for tests: collects messages and comments as they arrive. */
export interface SseClient {
  readonly status: number;
  /** The body of an answer other than 200. */
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
  readonly messages: SseMessage[];
  readonly comments: string[];
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  /** Waits until `count` messages of `event` arrived; returns them. */
  waitFor(event: string, count: number, timeoutMs?: number): Promise<SseMessage[]>;
  close(): void;
}

export function openSse(url: string, headers: Record<string, string>): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      const messages: SseMessage[] = [];
      const comments: string[] = [];
      let buffer = '';
      let body = '';
      res.setEncoding('utf8');
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => done());
      });
      res.on('data', (chunk: string) => {
        if (res.statusCode !== 200) {
          body += chunk;
          return;
        }
        buffer += chunk;
        let split = buffer.indexOf('\n\n');
        while (split !== -1) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else {
              const colon = line.indexOf(':');
              fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
            }
          }
          if (fields.event !== undefined || fields.data !== undefined) {
            messages.push({
              ...(fields.id === undefined ? {} : { id: fields.id }),
              event: fields.event ?? 'message',
              data: fields.data === undefined ? undefined : JSON.parse(fields.data),
            });
          }
          split = buffer.indexOf('\n\n');
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        messages,
        comments,
        ended,
        get body() {
          return body;
        },
        async waitFor(event, count, timeoutMs = 15_000) {
          return eventually(
            () => {
              const found = messages.filter((m) => m.event === event);
              return found.length >= count ? found : undefined;
            },
            { timeoutMs, intervalMs: 20, what: `${count} "${event}" messages` },
          );
        },
        close() {
          req.destroy();
          res.destroy();
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}
