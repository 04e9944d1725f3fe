import { mongo } from 'mongoose';
import { AppError, type DeadLetterDocument, type DeadLetterModel, type DeadLetterState } from '@activity-logger/shared';

/**
 * A replay in progress: set on an open letter by the one replay that may produce it, so that
 * concurrent replays of one letter produce it once. Not part of the shared DeadLetterDocument
 * because only the API reads or writes it; the worker's idempotent upsert of a letter must only
 * set fields on insert, which leaves it alone.
 */
export interface ReplayClaim {
  readonly by: string;
  readonly at: Date;
  readonly token: string;
}

export type StoredLetter = DeadLetterDocument & { replayClaim?: ReplayClaim };

/** Where a page of letters ended: newest first by (failedAt, _id). */
export interface LetterPosition {
  readonly failedAt: Date;
  readonly id: string;
}

export interface LetterQuery {
  readonly reason?: string | undefined;
  readonly state?: DeadLetterState | undefined;
  /** Inclusive, on failedAt. */
  readonly from?: Date | undefined;
  /** Exclusive, on failedAt. */
  readonly to?: Date | undefined;
  readonly limit: number;
  readonly after?: LetterPosition | undefined;
}

export interface LetterPage {
  readonly letters: StoredLetter[];
  readonly next: LetterPosition | undefined;
}

export interface Resolution {
  readonly by: string;
  readonly at: Date;
  readonly reason?: string;
}

export interface DeadLetterStore {
  list(query: LetterQuery, signal?: AbortSignal): Promise<LetterPage>;
  get(id: string): Promise<StoredLetter | undefined>;
  /**
   * Takes an open letter for one replay, unless another replay holds it (a claim older than
   * `staleBefore` is one whose replay died, and is taken over). The letter after the claim, or
   * undefined when it was not open or is held.
   */
  claim(id: string, claim: ReplayClaim, staleBefore: Date): Promise<StoredLetter | undefined>;
  /** Gives a claim back (its produce failed), so the letter can be replayed again. */
  release(id: string, token: string): Promise<void>;
  /** Replayed, by the holder of the claim; the letter after, or undefined if the claim was lost. */
  markReplayed(id: string, token: string, resolution: Resolution): Promise<StoredLetter | undefined>;
  /** Discarded, if it is open and no live replay holds it; the letter after, or undefined. */
  discard(id: string, resolution: Resolution, staleBefore: Date): Promise<StoredLetter | undefined>;
}

/** The store could not be reached or did not answer in time. */
export class LetterStoreError extends AppError {
  constructor(message: string, cause: unknown) {
    super('STORE_UNAVAILABLE', message, { retriable: true, cause });
  }
}

/** MaxTimeMSExpired, ExceededTimeLimit. */
const TIME_LIMIT_CODES = new Set([50, 262]);

const unclaimed = (staleBefore: Date): mongo.Filter<StoredLetter> => ({
  $or: [{ replayClaim: { $exists: false } }, { 'replayClaim.at': { $lt: staleBefore } }],
});

/**
 * The dead_letters collection through the driver (no mongoose casting: `value` stays the bytes
 * the worker stored). Every command carries maxTimeMS; list follows the (state|reason, failedAt,
 * _id) indexes with a keyset, never skip.
 */
export function createDeadLetterStore(model: DeadLetterModel, settings: { timeoutMs: number }): DeadLetterStore {
  const collection = model.collection as unknown as mongo.Collection<StoredLetter>;
  const maxTimeMS = settings.timeoutMs;

  async function guarded<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const timedOut = error instanceof mongo.MongoServerError && TIME_LIMIT_CODES.has(Number(error.code));
      if (timedOut || error instanceof mongo.MongoNetworkError || error instanceof mongo.MongoServerSelectionError) {
        throw new LetterStoreError(`the store failed to ${what}`, error);
      }
      throw error;
    }
  }

  return {
    list(query, signal) {
      const conditions: mongo.Filter<StoredLetter>[] = [];
      if (query.reason !== undefined) conditions.push({ reason: query.reason });
      if (query.state !== undefined) conditions.push({ state: query.state });
      if (query.from !== undefined) conditions.push({ failedAt: { $gte: query.from } });
      if (query.to !== undefined) conditions.push({ failedAt: { $lt: query.to } });
      if (query.after !== undefined) {
        conditions.push({
          $or: [
            { failedAt: { $lt: query.after.failedAt } },
            { failedAt: query.after.failedAt, _id: { $lt: query.after.id } },
          ],
        });
      }
      return guarded('list dead letters', async () => {
        const docs = await collection
          .find(conditions.length === 0 ? {} : { $and: conditions }, {
            sort: { failedAt: -1, _id: -1 },
            limit: query.limit + 1,
            maxTimeMS,
            ...(signal === undefined ? {} : { signal }),
          })
          .toArray();
        const letters = docs.slice(0, query.limit);
        const last = letters[letters.length - 1];
        return {
          letters,
          next: docs.length > query.limit && last !== undefined ? { failedAt: last.failedAt, id: last._id } : undefined,
        };
      });
    },

    get(id) {
      return guarded(
        'read a dead letter',
        async () => (await collection.findOne({ _id: id }, { maxTimeMS })) ?? undefined,
      );
    },

    claim(id, claim, staleBefore) {
      return guarded('claim a dead letter', async () => {
        const after = await collection.findOneAndUpdate(
          { $and: [{ _id: id, state: 'open' }, unclaimed(staleBefore)] },
          { $set: { replayClaim: claim } },
          { returnDocument: 'after', maxTimeMS },
        );
        return after ?? undefined;
      });
    },

    release(id, token) {
      return guarded('release a dead letter', async () => {
        await collection.updateOne(
          { _id: id, 'replayClaim.token': token },
          { $unset: { replayClaim: '' } },
          { maxTimeMS },
        );
      });
    },

    markReplayed(id, token, resolution) {
      return guarded('mark a dead letter replayed', async () => {
        const after = await collection.findOneAndUpdate(
          { _id: id, 'replayClaim.token': token },
          { $set: { state: 'replayed', resolution }, $unset: { replayClaim: '' } },
          { returnDocument: 'after', maxTimeMS },
        );
        return after ?? undefined;
      });
    },

    discard(id, resolution, staleBefore) {
      return guarded('discard a dead letter', async () => {
        const after = await collection.findOneAndUpdate(
          { $and: [{ _id: id, state: 'open' }, unclaimed(staleBefore)] },
          { $set: { state: 'discarded', resolution }, $unset: { replayClaim: '' } },
          { returnDocument: 'after', maxTimeMS },
        );
        return after ?? undefined;
      });
    },
  };
}
