import { randomUUID } from 'node:crypto';
import type { DeadLetterStore, LetterPage, LetterQuery, ReplayClaim, Resolution, StoredLetter } from './letter-store';

/** An in-memory DeadLetterStore for unit tests, with the real one's claim rules. */
export class FakeLetterStore implements DeadLetterStore {
  readonly letters = new Map<string, StoredLetter>();
  readonly claims = new Map<string, ReplayClaim>();

  constructor(letters: StoredLetter[] = [], claims: [string, ReplayClaim][] = []) {
    for (const letter of letters) this.letters.set(letter._id, structuredClone(letter));
    for (const [id, claim] of claims) this.claims.set(id, claim);
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
    const held = this.claims.get(id);
    if (held !== undefined && held.at >= staleBefore) return undefined;
    this.claims.set(id, claim);
    return structuredClone(letter);
  }

  async release(id: string, token: string) {
    await Promise.resolve();
    if (this.claims.get(id)?.token === token) this.claims.delete(id);
  }

  async markReplayed(id: string, token: string, resolution: Resolution) {
    return this.resolve(id, token, 'replayed', resolution);
  }

  async discard(id: string, resolution: Resolution, staleBefore: Date) {
    const token = randomUUID();
    const claimed = await this.claim(id, { by: resolution.by, at: resolution.at, token }, staleBefore);
    return claimed === undefined ? undefined : this.resolve(id, token, 'discarded', resolution);
  }

  private async resolve(id: string, token: string, state: 'replayed' | 'discarded', resolution: Resolution) {
    await Promise.resolve();
    const letter = this.letters.get(id);
    if (this.claims.get(id)?.token !== token || letter?.state !== 'open') return undefined;
    letter.state = state;
    letter.resolution = { ...resolution };
    return structuredClone(letter);
  }
}
