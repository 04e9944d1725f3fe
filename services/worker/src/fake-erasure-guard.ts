import type { ErasureGuard } from './erasure-guard';

/**
 * An in-memory ErasureGuard for unit tests of the batch logic only. `erasures` can change between
 * the guard's two looks (`beforeSecondLook`), to imitate an erasure racing with a batch.
 */
export class FakeErasureGuard implements ErasureGuard {
  readonly erasures = new Map<string, Date>();
  readonly removed: string[] = [];
  lookups = 0;
  /** Runs before every lookup after the first: an erasure recorded while the batch was written. */
  beforeSecondLook: (() => void) | undefined;

  latestErasures(userIds: readonly string[]): Promise<Map<string, Date>> {
    this.lookups += 1;
    if (this.lookups > 1) this.beforeSecondLook?.();
    const wanted = new Set(userIds);
    return Promise.resolve(new Map([...this.erasures].filter(([userId]) => wanted.has(userId))));
  }

  removeStored(targets: ReadonlyArray<{ key: string; userId: string; erasedAt: Date }>): Promise<number> {
    this.removed.push(...targets.map((target) => target.key));
    return Promise.resolve(targets.length);
  }
}
