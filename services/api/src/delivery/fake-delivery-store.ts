import type { DeadLetterDocument, ErasureDocument, PartitionProgressDocument } from '@activity-logger/shared';
import type { DeliveryStore, LetterSummary } from './delivery-store';

/** An in-memory DeliveryStore for unit tests of receipts and erasures; integration tests use the real store. */
export class FakeDeliveryStore implements DeliveryStore {
  readonly progress = new Map<number, PartitionProgressDocument>();
  readonly letters: DeadLetterDocument[] = [];
  readonly erasures: ErasureDocument[] = [];
  /** Stored events by user, as (receivedAt) instants; deleteEventsOf removes from here. */
  readonly eventsByUser = new Map<string, Date[]>();
  readonly calls: string[] = [];

  progressOf(_topic: string, partition: number) {
    this.calls.push('progressOf');
    return Promise.resolve(this.progress.get(partition) ?? null);
  }
  allProgress() {
    return Promise.resolve([...this.progress.values()]);
  }
  lettersOf(eventId: string, source: string | undefined): Promise<LetterSummary[]> {
    this.calls.push('lettersOf');
    return Promise.resolve(
      this.letters.filter(
        (letter) => letter.eventId === eventId && (source === undefined || [undefined, source].includes(letter.source)),
      ),
    );
  }
  recordErasure(erasure: ErasureDocument) {
    this.calls.push('recordErasure');
    this.erasures.push({ ...erasure });
    return Promise.resolve();
  }
  deleteEventsOf(userId: string, before: Date) {
    this.calls.push('deleteEventsOf');
    const all = this.eventsByUser.get(userId) ?? [];
    const kept = all.filter((receivedAt) => receivedAt >= before);
    this.eventsByUser.set(userId, kept);
    return Promise.resolve(all.length - kept.length);
  }
  eraseDeadLettersOf(userId: string, before: Date) {
    this.calls.push('eraseDeadLettersOf');
    const mine = this.letters.filter((letter) => letter.userId === userId && letter.failedAt < before);
    for (const letter of mine) Object.assign(letter, { key: null, value: null, headers: {}, state: 'discarded' });
    return Promise.resolve(mine.length);
  }
  setErasureDeleted(id: string, counts: { deleted: number; deadLetters: number }) {
    this.calls.push('setErasureDeleted');
    const erasure = this.erasures.find((e) => e._id === id);
    if (erasure !== undefined) Object.assign(erasure, counts);
    return Promise.resolve();
  }
  listErasures(query: { userId?: string | undefined; limit: number; after?: { requestedAt: Date; id: string } }) {
    const { after } = query;
    const sorted = [...this.erasures]
      .filter((e) => query.userId === undefined || e.userId === query.userId)
      .sort((a, b) => b.requestedAt.getTime() - a.requestedAt.getTime() || (a._id < b._id ? 1 : -1))
      .filter(
        (e) =>
          after === undefined ||
          e.requestedAt < after.requestedAt ||
          (e.requestedAt.getTime() === after.requestedAt.getTime() && e._id < after.id),
      );
    return Promise.resolve(sorted.slice(0, query.limit));
  }
}
