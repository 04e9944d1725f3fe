import type { Connection } from 'mongoose';
import {
  connectMongo,
  ensureQueryIndexes,
  logModel,
  toLogDocument,
  type LogDocument,
  type LogModel,
} from '@activity-logger/shared';
import { testServers, uniqueName } from '../../../test/support/isolation';
import { createWorkerMetrics } from '../src/metrics';
import { createProgressTracker } from '../src/progress';
import { createRetention, sweepExpired, TTL_INDEX_NAME } from '../src/retention';
import { dropDatabase, testEvents } from './harness';
import { silentLogger } from '../../../test/support/kafka';

describe('retention against the real store', () => {
  let connection: Connection;
  let model: LogModel;
  let isFerret: boolean;

  beforeAll(async () => {
    connection = await connectMongo({ uri: testServers().mongoUri, dbName: uniqueName('retention') });
    model = logModel(connection);
    await ensureQueryIndexes(model);
    isFerret = (await connection.db?.admin().buildInfo())?.ferretdbVersion !== undefined;
  });

  afterAll(async () => {
    await dropDatabase(connection);
  });

  it('uses a TTL index where the store has one, and the sweep where it answers "not implemented"', async () => {
    const retention = createRetention({
      model,
      config: { days: 30, sweepIntervalMs: 60_000 },
      logger: silentLogger,
      metrics: createWorkerMetrics({ progress: createProgressTracker(), defaultMetrics: false }),
    });
    try {
      const mode = await retention.start();
      expect(mode).toBe(isFerret ? 'sweep' : 'ttl');
      const indexes = await model.collection.indexes();
      const ttl = indexes.find((index) => index.name === TTL_INDEX_NAME);
      if (isFerret) expect(ttl).toBeUndefined();
      else expect(ttl?.expireAfterSeconds).toBe(30 * 86_400);
    } finally {
      await retention.stop();
    }
  });

  it('deletes only events received before the retention window, in bounded rounds', async () => {
    const now = new Date('2026-06-01T00:00:00Z');
    const daysAgo = (days: number): Date => new Date(now.getTime() - days * 86_400_000);
    const documents: LogDocument[] = testEvents(7, 'retention').map((event, i) => ({
      ...toLogDocument(event),
      // Five past the 30-day window, two inside it.
      receivedAt: i < 5 ? daysAgo(31 + i) : daysAgo(29),
    }));
    await model.insertMany(documents);

    // Two rounds of two: a tick stops after four even though five have expired.
    expect(await sweepExpired(model, { days: 30, now, batchSize: 2, maxRounds: 2 })).toBe(4);
    expect(await sweepExpired(model, { days: 30, now, batchSize: 2, maxRounds: 2 })).toBe(1);
    expect(await sweepExpired(model, { days: 30, now })).toBe(0);

    const left = await model.collection.distinct('_id');
    expect(left.sort()).toEqual(['retention-5', 'retention-6']);
  });
});
