import { AppError } from '@activity-logger/shared';

/**
 * The store did not acknowledge a batch as a whole (network, server selection, not primary, write
 * concern). Nothing of the batch is committed; the same messages are written again later, and
 * whatever was stored meanwhile comes back as a harmless duplicate.
 */
export class StoreUnavailableError extends AppError {
  constructor(message: string, cause: unknown) {
    super('STORE_UNAVAILABLE', message, { retriable: true, cause });
  }
}

/** The DLQ topic did not acknowledge a dead letter; the batch is retried rather than dropped. */
export class DeadLetterPublishError extends AppError {
  constructor(message: string, cause: unknown) {
    super('DLQ_UNAVAILABLE', message, { retriable: true, cause });
  }
}

export function isRetriable(error: unknown): boolean {
  return error instanceof AppError && error.retriable;
}
