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
 * Resolves when the server ends the stream; rejects when the connection fails or `signal` aborts
 * (with its reason). The reader is cancelled on abort rather than trusting the fetch to end its
 * body, so a watchdog's abort always frees the loop.
 */
export async function readEventStream(
  body: ReadableStream<Uint8Array>,
  callbacks: StreamCallbacks,
  signal: AbortSignal,
): Promise<void> {
  const parser = createParser({
    onEvent: callbacks.onEvent,
    onComment: () => callbacks.onComment?.(),
    onRetry: (ms) => callbacks.onRetry?.(ms),
  });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel(signal.reason).catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (signal.aborted) throw signal.reason;
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    parser.feed(decoder.decode());
  } finally {
    signal.removeEventListener('abort', cancel);
    reader.releaseLock();
  }
}
