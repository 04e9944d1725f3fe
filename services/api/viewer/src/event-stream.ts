import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface StreamCallbacks {
  readonly onEvent: (message: EventSourceMessage) => void;
  /** A `:` line: the server's heartbeat, proof that the connection is alive. */
  readonly onComment?: () => void;
  /** The server's `retry:` advice, in milliseconds. */
  readonly onRetry?: (ms: number) => void;
}

/**
 * Reads a Server-Sent Events body as it arrives. EventSource cannot send an Authorization header,
 * so the viewer fetches the stream itself and parses it with eventsource-parser (the same
 * line rules as browsers: CR, LF or CRLF, multi-line data, ids, comments, retry).
 * Resolves when the server ends the stream; rejects when the connection fails or is aborted.
 */
export async function readEventStream(body: ReadableStream<Uint8Array>, callbacks: StreamCallbacks): Promise<void> {
  const parser = createParser({
    onEvent: callbacks.onEvent,
    onComment: () => callbacks.onComment?.(),
    onRetry: (ms) => callbacks.onRetry?.(ms),
  });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    parser.feed(decoder.decode());
  } finally {
    reader.releaseLock();
  }
}
