import { mongo } from 'mongoose';

/** Server codes that mean "the time limit ran out": MaxTimeMSExpired, ExceededTimeLimit. */
const TIME_LIMIT_CODES = new Set([50, 262]);

/** The server gave up on a command at its maxTimeMS. */
export function isTimeLimit(error: unknown): boolean {
  return error instanceof mongo.MongoServerError && TIME_LIMIT_CODES.has(Number(error.code));
}

/** The store could not be reached (or the connection to it broke). */
export function isUnreachable(error: unknown): boolean {
  return error instanceof mongo.MongoNetworkError || error instanceof mongo.MongoServerSelectionError;
}
