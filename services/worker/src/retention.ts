import type { LogModel, Logger } from '@activity-logger/shared';
import type { RetentionConfig } from './config';
import type { WorkerMetrics } from './metrics';

export const TTL_INDEX_NAME = 'receivedAt_ttl';
const DAY_MS = 86_400_000;
/** Each step of a sweep is bounded on the server: a slow store delays retention, never hangs it. */
const SWEEP_STEP_TIME_LIMIT_MS = 30_000;

/** Error codes of MongoDB's createIndex that mean "an index like this exists, with other options". */
const INDEX_OPTIONS_CONFLICT = 85;
const INDEX_KEY_SPECS_CONFLICT = 86;
/** FerretDB answers NotImplemented for `expireAfterSeconds`. */
const NOT_IMPLEMENTED = 238;

export type RetentionMode = 'ttl' | 'sweep';

export interface Retention {
  /** Installs the TTL index, or starts the periodic sweep where the store has no TTL. */
  start(): Promise<RetentionMode>;
  /** Stops the sweep timer and waits for a sweep in progress. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Events older than RETENTION_DAYS (by `receivedAt`) are deleted. On MongoDB a TTL index does
 * it; on servers without TTL (FerretDB) the worker sweeps in bounded steps, so one tick never
 * holds the store for long however much has expired. Several workers sweeping at once only
 * repeat each other's deletes.
 */
export function createRetention(deps: {
  model: LogModel;
  config: RetentionConfig;
  logger: Logger;
  metrics: WorkerMetrics;
}): Retention {
  const { model, config, metrics } = deps;
  const logger = deps.logger.child({ component: 'retention' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function tick(): Promise<void> {
    try {
      const deleted = await sweepExpired(model, { days: config.days });
      metrics.retentionDeleted.inc(deleted);
      if (deleted > 0) logger.info({ deleted, retentionDays: config.days }, 'expired events deleted');
    } catch (error) {
      logger.warn({ err: error }, 'retention sweep failed; the next tick tries again');
    }
  }

  return {
    async start() {
      const mode = await ensureTtlIndex(model, config.days);
      if (mode === 'sweep') {
        logger.info({ intervalMs: config.sweepIntervalMs }, 'the store has no TTL indexes; sweeping expired events');
        timer = setInterval(() => {
          running ??= tick().finally(() => {
            running = undefined;
          });
        }, config.sweepIntervalMs);
        timer.unref();
      }
      return mode;
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

/** Creates the TTL index, or adjusts it when RETENTION_DAYS changed. 'sweep' when TTL is unsupported. */
export async function ensureTtlIndex(model: LogModel, days: number): Promise<RetentionMode> {
  const expireAfterSeconds = days * 86_400;
  try {
    await model.collection.createIndex({ receivedAt: 1 }, { expireAfterSeconds, name: TTL_INDEX_NAME });
    return 'ttl';
  } catch (error) {
    if (ttlUnsupported(error)) return 'sweep';
    const code = (error as { code?: unknown }).code;
    if (code !== INDEX_OPTIONS_CONFLICT && code !== INDEX_KEY_SPECS_CONFLICT) throw error;
  }
  // An index by that name or on that key exists with other options (say RETENTION_DAYS changed).
  const indexes = await model.collection.indexes();
  const existing = indexes.find(
    (index) => index.name === TTL_INDEX_NAME || JSON.stringify(index.key) === JSON.stringify({ receivedAt: 1 }),
  );
  if (existing?.name !== undefined && JSON.stringify(existing.key) === JSON.stringify({ receivedAt: 1 })) {
    const db = model.db.db;
    if (db === undefined) throw new Error('the MongoDB connection is not open');
    // collMod changes the expiry in place, without rebuilding the index.
    await db.command({
      collMod: model.collection.collectionName,
      index: { name: existing.name, expireAfterSeconds },
    });
    return 'ttl';
  }
  if (existing?.name !== undefined) await model.collection.dropIndex(existing.name);
  await model.collection.createIndex({ receivedAt: 1 }, { expireAfterSeconds, name: TTL_INDEX_NAME });
  return 'ttl';
}

function ttlUnsupported(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === NOT_IMPLEMENTED) return true;
  return (
    typeof message === 'string' &&
    /expireAfterSeconds|TTL/i.test(message) &&
    /not (yet )?(implemented|supported)/i.test(message)
  );
}

/**
 * One bounded sweep: up to `maxRounds` rounds, each deleting up to `batchSize` events received
 * before `now - days`. Returns how many were deleted.
 */
export async function sweepExpired(
  model: LogModel,
  options: { days: number; now?: Date; batchSize?: number; maxRounds?: number },
): Promise<number> {
  const { days, now = new Date(), batchSize = 1000, maxRounds = 10 } = options;
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  let deleted = 0;
  for (let round = 0; round < maxRounds; round += 1) {
    const expired = await model.collection
      .find(
        { receivedAt: { $lt: cutoff } },
        { projection: { _id: 1 }, limit: batchSize, maxTimeMS: SWEEP_STEP_TIME_LIMIT_MS },
      )
      .toArray();
    if (expired.length === 0) break;
    const result = await model.collection.deleteMany(
      { _id: { $in: expired.map((doc) => doc._id) } },
      { maxTimeMS: SWEEP_STEP_TIME_LIMIT_MS },
    );
    deleted += result.deletedCount;
    if (expired.length < batchSize) break;
  }
  return deleted;
}
