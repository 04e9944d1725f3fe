import { randomUUID } from 'node:crypto';
import { mongo } from 'mongoose';
import { AppError, type DeadLetterDocument, type DeadLetterModel, type DeadLetterState } from '@activity-logger/shared';
import { isTimeLimit, isUnreachable } from '../store-errors';
import { allOf } from '../query/store-filter';

/**
 * Who may act on an open letter: the one replay (or discard) whose claim document was inserted.
 * Claims live in a collection of their own, keyed by the letter's id, because the primary key is
 * the one guarantee every MongoDB-protocol store gives under concurrency: a second insert of the
 * same `_id` fails (11000). A conditional findOneAndUpdate on the letter is not enough — FerretDB
 * runs it as a read then a write, and two racing replays both "won" in a test. A claim stays after
 * its letter was resolved, so a replay that read the letter as open just before cannot claim it
 * again; only a claim older than the stale bound on a letter still open (its replay died between
 * claiming and marking) is taken over.
 */
export interface ReplayClaim {
  readonly by: string;
  readonly at: Date;
  readonly token: string;
}

export const DEAD_LETTER_CLAIMS_COLLECTION = 'dead_letter_claims';

interface ClaimDocument extends ReplayClaim {
  _id: string;
}

export type StoredLetter = DeadLetterDocument;

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
  /** A replay's place in the main topic (see DeadLetterDocument.resolution). */
  readonly replayedTo?: { readonly partition: number; readonly offset: number };
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

/**
 * The dead_letters collection through the driver (no mongoose casting: `value` stays the bytes
 * the worker stored). Every command carries maxTimeMS; list follows the (state|reason, failedAt,
 * _id) indexes with a keyset, never skip.
 */
export function createDeadLetterStore(model: DeadLetterModel, settings: { timeoutMs: number }): DeadLetterStore {
  const collection = model.collection as unknown as mongo.Collection<StoredLetter>;
  const maxTimeMS = settings.timeoutMs;
  const claims = model.db.collection<ClaimDocument>(DEAD_LETTER_CLAIMS_COLLECTION);

  async function insertClaim(id: string, claim: ReplayClaim): Promise<boolean> {
    try {
      await claims.insertOne({ _id: id, ...claim });
      return true;
    } catch (error) {
      if (error instanceof mongo.MongoServerError && error.code === 11000) return false;
      throw error;
    }
  }

  async function takeClaim(id: string, claim: ReplayClaim, staleBefore: Date): Promise<StoredLetter | undefined> {
    const letter = await collection.findOne({ _id: id }, { maxTimeMS });
    if (letter === null || letter.state !== 'open') return undefined;
    if (!(await insertClaim(id, claim))) {
      const held = await claims.findOne({ _id: id }, { maxTimeMS });
      if (held === null || held.at >= staleBefore) return undefined;
      // Taken over only if it is still that stale claim; of two takers, one insert wins.
      await claims.deleteOne({ _id: id, token: held.token }, { maxTimeMS });
      if (!(await insertClaim(id, claim))) return undefined;
    }
    // Resolved by the previous holder between our read and our claim: nothing left to do.
    const current = await collection.findOne({ _id: id }, { maxTimeMS });
    return current !== null && current.state === 'open' ? current : undefined;
  }

  async function resolve(id: string, token: string, state: 'replayed' | 'discarded', resolution: Resolution) {
    if ((await claims.findOne({ _id: id, token }, { maxTimeMS })) === null) return undefined; // taken over
    const after = await collection.findOneAndUpdate(
      { _id: id, state: 'open' },
      { $set: { state, resolution } },
      { returnDocument: 'after', maxTimeMS },
    );
    return after ?? undefined;
  }

  async function guarded<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const timedOut = isTimeLimit(error);
      if (timedOut || isUnreachable(error)) {
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
          .find(allOf(conditions) as mongo.Filter<StoredLetter>, {
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
      return guarded('claim a dead letter', () => takeClaim(id, claim, staleBefore));
    },

    release(id, token) {
      return guarded('release a dead letter', async () => {
        await claims.deleteOne({ _id: id, token }, { maxTimeMS });
      });
    },

    markReplayed(id, token, resolution) {
      return guarded('mark a dead letter replayed', () => resolve(id, token, 'replayed', resolution));
    },

    discard(id, resolution, staleBefore) {
      return guarded('discard a dead letter', async () => {
        const token = randomUUID();
        const claimed = await takeClaim(id, { by: resolution.by, at: resolution.at, token }, staleBefore);
        return claimed === undefined ? undefined : resolve(id, token, 'discarded', resolution);
      });
    },
  };
}
