import type { RequestHandler, Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { callerOf } from '../auth/authenticate';
import { HttpError } from './errors';

export interface RateLimitSettings {
  readonly windowSeconds: number;
  /** Events one key may send per window (a 1,000-event batch costs 1,000). */
  readonly ingestEvents: number;
  /** GET requests one key may make per window. */
  readonly readRequests: number;
}

const REFUSED_BYTES_PER_EVENT = 1024;

export interface RateLimits {
  /** Before a body is read: 429 at once when the key has nothing left in this window. */
  readonly ingestGate: RequestHandler;
  /** Charges a validated request's events to the caller's key, or throws a 429. */
  chargeIngest(res: Response, events: number): Promise<void>;
  /**
   * Charges a refused (400) ingest request by what reading it cost: one event per KiB of body, at
   * least one. Otherwise invalid megabyte bodies would cost the server CPU and the key nothing.
   */
  chargeRefused(res: Response): Promise<void>;
  /** Charges one request to the caller's key, or answers 429. */
  readonly read: RequestHandler;
}

/**
 * Per-key limits in fixed windows, counted in this process (rate-limiter-flexible's memory
 * limiter): with N replicas behind a load balancer a key gets up to N times the configured rate.
 * Keys are counted by name, so the two keys of a rotation share one budget. Answers carry the
 * IETF draft-06 headers `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds)
 * and `RateLimit-Policy`; a 429 adds `Retry-After`.
 */
export function createRateLimits(settings: RateLimitSettings): RateLimits {
  const ingest = new RateLimiterMemory({
    keyPrefix: 'ingest',
    points: settings.ingestEvents,
    duration: settings.windowSeconds,
  });
  const read = new RateLimiterMemory({
    keyPrefix: 'read',
    points: settings.readRequests,
    duration: settings.windowSeconds,
  });

  function headers(limit: number, state: RateLimiterRes): Record<string, string> {
    return {
      'RateLimit-Limit': String(limit),
      'RateLimit-Remaining': String(Math.max(0, state.remainingPoints)),
      'RateLimit-Reset': String(Math.max(0, Math.ceil(state.msBeforeNext / 1000))),
      'RateLimit-Policy': `${limit};w=${settings.windowSeconds}`,
    };
  }

  function tooMany(limit: number, state: RateLimiterRes, message: string): HttpError {
    const retryAfterSeconds = Math.max(1, Math.ceil(state.msBeforeNext / 1000));
    return new HttpError(429, 'RATE_LIMITED', message, {
      retryAfterSeconds,
      headers: headers(limit, state),
    });
  }

  /** Charges `points`; a refused charge is given back, so what was refused costs nothing. */
  async function charge(
    limiter: RateLimiterMemory,
    name: string,
    points: number,
  ): Promise<{ ok: boolean; state: RateLimiterRes }> {
    try {
      return { ok: true, state: await limiter.consume(name, points) };
    } catch (refused) {
      // The memory limiter rejects with its state when over the limit, with an Error otherwise.
      if (!(refused instanceof RateLimiterRes)) throw refused;
      return { ok: false, state: await limiter.reward(name, points) };
    }
  }

  return {
    ingestGate: (_req, res, next) => {
      const name = callerOf(res).name;
      ingest.get(name).then((state) => {
        if (state !== null && state.remainingPoints <= 0) {
          next(tooMany(settings.ingestEvents, state, 'This API key has sent its events for this window; retry later.'));
          return;
        }
        next();
      }, next);
    },

    async chargeRefused(res) {
      const bytes = typeof res.locals.bodyBytes === 'number' ? res.locals.bodyBytes : 0;
      // A penalty is kept whatever is left: refused work is still work.
      await ingest.penalty(callerOf(res).name, Math.max(1, Math.ceil(bytes / REFUSED_BYTES_PER_EVENT)));
    },

    async chargeIngest(res, events) {
      const { ok, state } = await charge(ingest, callerOf(res).name, events);
      if (ok) {
        res.set(headers(settings.ingestEvents, state));
        return;
      }
      const message =
        events > settings.ingestEvents
          ? `A request may carry at most ${settings.ingestEvents} events per window; send smaller batches.`
          : `This request's ${events} events exceed what this API key has left in this window ` +
            `(${state.remainingPoints}); retry later.`;
      throw tooMany(settings.ingestEvents, state, message);
    },

    read: (_req, res, next) => {
      charge(read, callerOf(res).name, 1).then(({ ok, state }) => {
        if (!ok) {
          next(
            tooMany(settings.readRequests, state, 'This API key has made its requests for this window; retry later.'),
          );
          return;
        }
        res.set(headers(settings.readRequests, state));
        next();
      }, next);
    },
  };
}
