import { ApiError, describeError } from './api-client';
import type { StoredEvent } from './contract';
import { readEventStream } from './event-stream';

export type TailState =
  | { kind: 'connecting'; resuming: boolean }
  | { kind: 'live' }
  | { kind: 'waiting'; retryInMs: number; reason: string }
  | { kind: 'failed'; error: ApiError }
  | { kind: 'stopped' };

export interface TailOptions {
  /** Opens the stream, resuming after `lastEventId` when there is one (sent as Last-Event-ID). */
  readonly open: (lastEventId: string | undefined, signal: AbortSignal) => Promise<Response>;
  readonly onLog: (event: StoredEvent, position: string | undefined) => void;
  readonly onWatermark: (completeThrough: string | null) => void;
  readonly onState: (state: TailState) => void;
  /**
   * No byte for this long (the server sends a heartbeat every 15 s) means a dead connection,
   * which a half-open network never reports: the tail reconnects.
   */
  readonly silenceMs?: number;
  readonly maxBackoffMs?: number;
}

export interface LiveTail {
  stop(): void;
  /** The position after the last event seen: where a reconnection resumes. */
  lastEventId(): string | undefined;
}

/** Refusals that another try cannot fix (a bad key, a missing scope, a bad filter) stop the tail. */
function retriable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return true; // a network failure, an abort by the watchdog
  return error.status === 429 || error.status >= 500;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * The live tail: reads `event: log` and `event: watermark` from the stream and, whenever the
 * connection ends or fails, reconnects with backoff from the last position seen, so that no
 * stored event between two connections is missed.
 */
export function startLiveTail(options: TailOptions): LiveTail {
  const silenceMs = options.silenceMs ?? 45_000;
  const maxBackoffMs = options.maxBackoffMs ?? 15_000;
  const stopping = new AbortController();
  let lastEventId: string | undefined;
  let serverRetryMs: number | undefined;

  async function connectOnce(): Promise<void> {
    const connection = new AbortController();
    const abort = (): void => connection.abort(new Error('stopped'));
    stopping.signal.addEventListener('abort', abort, { once: true });
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const rearm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => connection.abort(new Error(`no data for ${silenceMs / 1000} s`)), silenceMs);
    };
    try {
      const res = await options.open(lastEventId, connection.signal);
      if (res.body === null) throw new Error('the stream has no body');
      options.onState({ kind: 'live' });
      rearm();
      await readEventStream(
        res.body,
        {
          onEvent: (message) => {
            rearm();
            if (message.id !== undefined && message.id !== '') lastEventId = message.id;
            if (message.event === 'log') options.onLog(JSON.parse(message.data) as StoredEvent, message.id);
            else if (message.event === 'watermark') {
              const { completeThrough } = JSON.parse(message.data) as { completeThrough: string | null };
              options.onWatermark(completeThrough);
            }
          },
          onComment: rearm,
          onRetry: (ms) => (serverRetryMs = ms),
        },
        connection.signal,
      );
    } finally {
      clearTimeout(watchdog);
      stopping.signal.removeEventListener('abort', abort);
    }
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      options.onState({ kind: 'connecting', resuming: lastEventId !== undefined });
      let reason = 'the server ended the stream';
      const before = lastEventId;
      try {
        await connectOnce();
      } catch (error) {
        if (stopping.signal.aborted) break;
        if (!retriable(error)) {
          options.onState({ kind: 'failed', error: error as ApiError });
          return;
        }
        reason = describeError(error) || reason;
      }
      if (stopping.signal.aborted) break;
      // A connection that delivered something was healthy: start the backoff again.
      failures = lastEventId !== before ? 0 : failures + 1;
      const retryInMs = Math.min(maxBackoffMs, serverRetryMs ?? 1000 * 2 ** Math.min(failures, 4));
      options.onState({ kind: 'waiting', retryInMs, reason });
      await sleep(retryInMs, stopping.signal);
    }
    options.onState({ kind: 'stopped' });
  }

  void run();
  return {
    stop: () => stopping.abort(),
    lastEventId: () => lastEventId,
  };
}
