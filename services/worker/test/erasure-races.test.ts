import pino from 'pino';
import type { Connection } from 'mongoose';
import {
  completeEvent,
  connectMongo,
  deadLetterId,
  deadLetterModel,
  encodeEvent,
  erasureModel,
  logModel,
  type ActivityEvent,
} from '@activity-logger/shared';
import type { ConsumedMessage } from '../src/consumed-message';
import { createMongoDeadLetterStore } from '../src/dead-letter-store';
import { createMongoErasureGuard, type ErasureGuard } from '../src/erasure-guard';
import { createMongoEventWriter } from '../src/event-writer';
import { createWorkerMetrics } from '../src/metrics';
import { createProgressTracker } from '../src/progress';
import { persistBatch } from '../src/persist-batch';
import { testServers, uniqueName } from '../../../test/support/isolation';

/**
 * Erasures against the real store at the edges the batch logic alone cannot show: a slipped
 * event whose store key another user's stored event already has, and a poison event of an erased
 * user. (Both were found by review: the first deleted the other user's event, the second kept the
 * erased user's data in the dead letter.)
 */
describe('erasures around a batch (real store)', () => {
  let connection: Connection;
  let offset = 0;
  const message = (value: Buffer | string): ConsumedMessage => ({
    ...{ topic: 'activity-logs', partition: 0, offset: String(offset++), key: null, headers: {} },
    value: Buffer.from(value),
  });

  beforeAll(async () => {
    connection = await connectMongo({ uri: testServers().mongoUri, dbName: uniqueName('erasure-races') });
  });
  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  const realGuard = () =>
    createMongoErasureGuard({ erasures: erasureModel(connection), logs: logModel(connection) }, { timeoutMs: 5000 });
  const erase = (id: string, userId: string) =>
    erasureModel(connection).collection.insertOne({
      _id: id as never,
      userId,
      requestedBy: 'ops',
      requestedAt: new Date(),
      deleted: 0,
    });
  const deps = (erasures: ErasureGuard) => ({
    writer: createMongoEventWriter(logModel(connection), { writeTimeoutMs: 5000 }),
    deadLetters: { publish: () => Promise.resolve() },
    letterStore: createMongoDeadLetterStore(deadLetterModel(connection), { writeTimeoutMs: 5000 }),
    erasures,
    logger: pino({ level: 'silent' }),
    metrics: createWorkerMetrics({ progress: createProgressTracker(), defaultMetrics: false }),
  });

  it('removes only the erased user’s event when the slipped one shares its store key with another user’s', async () => {
    const receivedAt = new Date(Date.now() - 1000);
    const sharedId = (userId: string): ActivityEvent =>
      completeEvent(
        { userId, action: 'A', eventId: 'shared-id' },
        { receivedAt, traceId: 't', source: 'shop', mintId: () => 'unused' },
      );
    const guard = realGuard();
    await persistBatch([message(encodeEvent(sharedId('alice')))], deps(guard));
    // Bob's event reuses the id (a duplicate of Alice's key); bob is erased while it is written.
    let looks = 0;
    const racing: ErasureGuard = {
      async latestErasures(userIds) {
        looks += 1;
        if (looks === 2) await erase('erase-bob', 'bob');
        return guard.latestErasures(userIds);
      },
      removeStored: (targets) => guard.removeStored(targets),
    };

    const outcomes = await persistBatch([message(encodeEvent(sharedId('bob')))], deps(racing));

    expect(outcomes.map((o) => o.kind)).toEqual(['erased']);
    expect(await logModel(connection).collection.countDocuments({ userId: 'alice' })).toBe(1);
  });

  it('stores a poison event of an erased user as an emptied, discarded letter', async () => {
    const receivedAt = new Date(Date.now() - 60_000);
    await erase('erase-carol', 'carol');
    const poison = message(
      JSON.stringify({ v: 99, userId: 'carol', eventId: 'c1', receivedAt, metadata: { email: 'carol@example.com' } }),
    );
    const whole = message(JSON.stringify({ v: 99, userId: 'dave', eventId: 'd1', receivedAt }));

    const outcomes = await persistBatch([poison, whole], deps(realGuard()));

    expect(outcomes.map((o) => o.kind)).toEqual(['dlq', 'dlq']);
    const letters = deadLetterModel(connection).collection;
    const carol = await letters.findOne({ _id: deadLetterId(poison.topic, 0, poison.offset) as never });
    expect(carol).toMatchObject({ value: null, key: null, headers: {}, state: 'discarded' });
    expect(carol).not.toHaveProperty('userId');
    const dave = await letters.findOne({ _id: deadLetterId(whole.topic, 0, whole.offset) as never });
    expect(dave).toMatchObject({ userId: 'dave', state: 'open' });
    expect(dave?.value).not.toBeNull();
  });
});
