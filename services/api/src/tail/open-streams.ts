import { HttpError } from '../http/errors';

export interface StreamLimits {
  /** Open streams and exports one API key may hold at once. */
  readonly perKey: number;
  /** Open streams and exports of the whole process. */
  readonly total: number;
}

export interface OpenStream {
  /** Aborted when the API shuts down: the stream ends its answer. */
  readonly signal: AbortSignal;
  /** Gives the slot back; safe to call more than once. */
  release(): void;
}

/**
 * Long answers (live tails and exports) hold a connection and poll the store for as long as the
 * client stays, so they are counted: past the per-key cap a 429, past the process cap a 503 (try
 * another replica). At shutdown every one is told to end, so draining never waits on a client
 * that would otherwise stay for hours.
 */
export class OpenStreams {
  private readonly byKey = new Map<string, number>();
  private readonly controllers = new Set<AbortController>();
  private closing = false;

  constructor(private readonly limits: StreamLimits) {}

  get size(): number {
    return this.controllers.size;
  }

  open(key: string): OpenStream {
    if (this.closing) {
      throw new HttpError(503, 'SHUTTING_DOWN', 'This replica is shutting down; reconnect.', { retryAfterSeconds: 1 });
    }
    const held = this.byKey.get(key) ?? 0;
    if (held >= this.limits.perKey) {
      throw new HttpError(429, 'TOO_MANY_STREAMS', `This API key holds ${held} open streams or exports already.`, {
        retryAfterSeconds: 5,
      });
    }
    if (this.controllers.size >= this.limits.total) {
      throw new HttpError(503, 'TOO_MANY_STREAMS', 'This replica serves as many streams as it can; retry later.', {
        retryAfterSeconds: 5,
      });
    }
    const controller = new AbortController();
    this.controllers.add(controller);
    this.byKey.set(key, held + 1);
    let released = false;
    return {
      signal: controller.signal,
      release: () => {
        if (released) return;
        released = true;
        this.controllers.delete(controller);
        const left = (this.byKey.get(key) ?? 1) - 1;
        if (left === 0) this.byKey.delete(key);
        else this.byKey.set(key, left);
      },
    };
  }

  /** Ends every open stream and refuses new ones (the API is draining). */
  closeAll(): void {
    this.closing = true;
    for (const controller of this.controllers) controller.abort(new Error('the API is shutting down'));
  }
}
