import type { Model } from 'mongoose';

/**
 * Creates a collection and the missing ones of its indexes; safe on every start, by every
 * replica (the same care as ensureQueryIndexes: FerretDB 1.24 drops the connection when one
 * createIndexes names an index that already exists, so only missing ones, one at a time).
 */
export async function ensureIndexes<T>(
  model: Model<T>,
  indexes: ReadonlyArray<{ key: Record<string, 1 | -1>; name: string }>,
): Promise<void> {
  await model.createCollection().catch((error: unknown) => {
    // 48 NamespaceExists: another replica created it first.
    if ((error as { code?: number }).code !== 48) throw error;
  });
  const existing = new Set((await model.collection.indexes()).map((index) => index.name));
  for (const { key, name } of indexes) {
    if (!existing.has(name)) await model.collection.createIndex(key, { name });
  }
}
