import type { ErasureDocument } from '@activity-logger/shared';
import type { DeliveryStore } from './delivery-store';

export interface Erasure {
  readonly id: string;
  readonly userId: string;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly deleted: number;
  readonly deadLetters: number;
}

export function toErasure(doc: ErasureDocument): Erasure {
  return {
    id: doc._id,
    userId: doc.userId,
    requestedBy: doc.requestedBy,
    requestedAt: doc.requestedAt.toISOString(),
    deleted: doc.deleted,
    deadLetters: doc.deadLetters ?? 0,
  };
}

/**
 * Erases a user: every event of theirs received before now is deleted, and the worker never
 * stores one of them afterwards, even one still in Kafka. The order is what makes that hold:
 * the erasure is recorded FIRST, so the worker (which looks for erasures before and after each
 * write) sees it from then on; only then are the stored events deleted, which also removes
 * whatever a batch in flight wrote before it could see the record.
 * The user's dead letters are emptied of their bytes too (and the open ones discarded), so an
 * erased user's data cannot come back through a replay; copies on the DLQ topic remain until
 * its retention removes them.
 * Should the delete fail, the erasure stays recorded (nothing new is stored) and the caller
 * gets an error: asking again records a second erasure and deletes what the first left.
 */
export async function eraseUser(
  request: { userId: string; requestedBy: string },
  deps: { store: DeliveryStore; now: () => Date; newId: () => string },
): Promise<Erasure> {
  const erasure: ErasureDocument = {
    _id: deps.newId(),
    userId: request.userId,
    requestedBy: request.requestedBy,
    requestedAt: deps.now(),
    deleted: 0,
  };
  await deps.store.recordErasure(erasure);
  const deleted = await deps.store.deleteEventsOf(erasure.userId, erasure.requestedAt);
  const deadLetters = await deps.store.eraseDeadLettersOf(erasure.userId, erasure.requestedAt, request.requestedBy);
  await deps.store.setErasureDeleted(erasure._id, { deleted, deadLetters });
  return toErasure({ ...erasure, deleted, deadLetters });
}
