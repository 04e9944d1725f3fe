import { HttpError } from '../http/errors';
import { LogReadError } from './log-reader';

/**
 * A store that is slow or away is the store's problem, said as such: 503 with Retry-After, for
 * every route that reads events (queries, receipts, the tail, export). Anything else is passed on.
 */
export function unavailable(error: unknown): unknown {
  if (!(error instanceof LogReadError)) return error;
  const message =
    error.code === 'QUERY_TIMEOUT'
      ? 'The query took longer than the time limit; narrow it (userId, action, source, from/to) or retry later.'
      : 'The event store cannot be reached right now; retry later.';
  return new HttpError(503, error.code, message, { retryAfterSeconds: 5, cause: error });
}
