import type { DeadLetterStore, LetterPage, LetterQuery, ReplayClaim, Resolution, StoredLetter } from './letter-store';

/** An in-memory DeadLetterStore for unit tests, with the same conditional updates as the real one. */
export class FakeLetterStore implements DeadLetterStore {
  readonly letters = new Map<string, StoredLetter>();

  constructor(letters: StoredLetter[] = []) {
    for (const letter of letters) this.letters.set(letter._id, structuredClone(letter));
  }

  async list(query: LetterQuery): Promise<LetterPage> {
    await Promise.resolve();
    const matching = [...this.letters.values()]
      .filter(
        (l) =>
          (query.reason === undefined || l.reason === query.reason) &&
          (query.state === undefined || l.state === query.state) &&
          (query.from === undefined || l.failedAt >= query.from) &&
          (query.to === undefined || l.failedAt < query.to) &&
          (query.after === undefined ||
            l.failedAt < query.after.failedAt ||
            (l.failedAt.getTime() === query.after.failedAt.getTime() && l._id < query.after.id)),
      )
      .sort((a, b) => b.failedAt.getTime() - a.failedAt.getTime() || (a._id < b._id ? 1 : -1));
    const letters = matching.slice(0, query.limit);
    const last = letters[letters.length - 1];
    return {
      letters,
      next: matching.length > query.limit && last !== undefined ? { failedAt: last.failedAt, id: last._id } : undefined,
    };
  }

  async get(id: string) {
    await Promise.resolve();
    const letter = this.letters.get(id);
    return letter === undefined ? undefined : structuredClone(letter);
  }

  async claim(id: string, claim: ReplayClaim, staleBefore: Date) {
    await Promise.resolve();
    const letter = this.letters.get(id);
    if (letter === undefined || letter.state !== 'open') return undefined;
    if (letter.replayClaim !== undefined && letter.replayClaim.at >= staleBefore) return undefined;
    letter.replayClaim = claim;
    return structuredClone(letter);
  }

  async release(id: string, token: string) {
    await Promise.resolve();
    const letter = this.letters.get(id);
    if (letter?.replayClaim?.token === token) delete letter.replayClaim;
  }

  async markReplayed(id: string, token: string, resolution: Resolution) {
    await Promise.resolve();
    const letter = this.letters.get(id);
    if (letter?.replayClaim?.token !== token) return undefined;
    delete letter.replayClaim;
    letter.state = 'replayed';
    letter.resolution = { ...resolution };
    return structuredClone(letter);
  }

  async discard(id: string, resolution: Resolution, staleBefore: Date) {
    await Promise.resolve();
    const letter = this.letters.get(id);
    if (letter === undefined || letter.state !== 'open') return undefined;
    if (letter.replayClaim !== undefined && letter.replayClaim.at >= staleBefore) return undefined;
    delete letter.replayClaim;
    letter.state = 'discarded';
    letter.resolution = { ...resolution };
    return structuredClone(letter);
  }
}
