import type { mongo } from 'mongoose';
import {
  withTimeLimit,
  type ErasureDocument,
  type ErasureModel,
  type LogDocument,
  type LogModel,
} from '@activity-logger/shared';
import { StoreUnavailableError } from './errors';

/**
 * What the worker asks about erasures. An erasure of a user covers that user's events received
 * before it was requested: they are never stored afterwards, whenever the worker reads them.
 */
export interface ErasureGuard {
  /** The latest erasure instant of each of these users that has one (one query). */
  latestErasures(userIds: readonly string[]): Promise<Map<string, Date>>;
  /**
   * Deletes the stored events with these store keys that belong to the erased user and were
   * received before the erasure; resolves with how many it deleted. A key alone is not enough:
   * an event that came back as a duplicate may share its key with another user's stored event.
   */
  removeStored(targets: ReadonlyArray<{ key: string; userId: string; erasedAt: Date }>): Promise<number>;
}

/** Whether an erasure covers an event of this user received at `receivedAt`. */
export function isErased(erasures: ReadonlyMap<string, Date>, userId: string, receivedAt: Date): boolean {
  const requestedAt = erasures.get(userId);
  // Inclusive: an event received in the erasure's own millisecond is covered (the API's delete is too).
  return requestedAt !== undefined && requestedAt >= receivedAt;
}

export function createMongoErasureGuard(
  models: { erasures: ErasureModel; logs: LogModel },
  options: { timeoutMs: number },
): ErasureGuard {
  const erasures = models.erasures.collection as unknown as mongo.Collection<ErasureDocument>;
  const logs = models.logs.collection as unknown as mongo.Collection<LogDocument>;
  const { timeoutMs } = options;

  async function bounded<T>(what: string, work: Promise<T>): Promise<T> {
    const answered = work.catch((error: unknown) => {
      throw new StoreUnavailableError(`${what} failed: ${(error as Error).message}`, error);
    });
    return withTimeLimit(answered, timeoutMs + 1000, () => {
      throw new StoreUnavailableError(`${what} did not answer within ${timeoutMs + 1000} ms`, undefined);
    });
  }

  return {
    async latestErasures(userIds) {
      const latest = new Map<string, Date>();
      if (userIds.length === 0) return latest;
      const found = await bounded(
        'reading erasures',
        erasures
          .find({ userId: { $in: [...userIds] } }, { projection: { userId: 1, requestedAt: 1 }, maxTimeMS: timeoutMs })
          .toArray(),
      );
      // The latest per user, here rather than with $group/$max, which FerretDB does not have.
      for (const { userId, requestedAt } of found) {
        const known = latest.get(userId);
        if (known === undefined || requestedAt > known) latest.set(userId, requestedAt);
      }
      return latest;
    },
    async removeStored(targets) {
      if (targets.length === 0) return 0;
      const covered = targets.map(({ key, userId, erasedAt }) => ({
        _id: key,
        userId,
        receivedAt: { $lt: erasedAt },
      }));
      const result = await bounded('removing erased events', logs.deleteMany({ $or: covered }));
      return result.deletedCount;
    },
  };
}
