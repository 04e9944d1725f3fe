import request from 'supertest';
import { startTestApi, type TestApi } from '../../services/api/test/harness';
import {
  createTopics,
  startTestWorker,
  waitForCommitsAtHighWatermark,
  type TestWorker,
} from '../../services/worker/test/harness';
import { testKey } from '../support/api-keys';
import { uniqueName } from '../support/isolation';

/**
 * eventId squatting, through the whole pipeline: the api and the worker (in-process, from their
 * real factories) over the real broker and store. Two keys posting the same eventId both get
 * their event stored; one key repeating its own eventId is deduplicated.
 */
describe('per-key eventIds through Kafka and the worker', () => {
  const shop = testKey('shop', ['ingest', 'read']);
  const rogue = testKey('rogue', ['ingest']);
  let api: TestApi;
  let worker: TestWorker;
  const groupId = uniqueName('sources-group');

  beforeAll(async () => {
    api = await startTestApi({ keys: [shop, rogue] });
    const dlqTopic = `${api.topic}.dlq`;
    const admin = api.kafka.admin();
    await admin.connect();
    await createTopics(admin, [dlqTopic]);
    await admin.disconnect();
    worker = await startTestWorker({
      kafka: api.kafka,
      model: api.model,
      topic: api.topic,
      dlqTopic,
      groupId,
    });
  });
  afterAll(async () => {
    await worker?.stop();
    const admin = api.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [`${api.topic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
    await api?.close();
  });

  it('stores the same eventId once per key, never letting one key suppress another', async () => {
    const post = (key: typeof shop, userId: string, action: string) =>
      request(api.app).post('/api/logs').set(key.header).send({ userId, action, eventId: 'order-X' });
    expect((await post(rogue, 'mallory', 'Order')).status).toBe(202); // the squatter comes first
    expect((await post(shop, 'alice', 'Order')).status).toBe(202);
    // The same key again (same user, so the same partition, after the first): deduplicated.
    expect((await post(shop, 'alice', 'Order-again')).status).toBe(202);

    // Every message handled and committed, the retry included.
    const admin = api.kafka.admin();
    await admin.connect();
    await waitForCommitsAtHighWatermark(admin, groupId, api.topic);
    await admin.disconnect();
    expect(await api.model.collection.countDocuments({ eventId: 'order-X' })).toBe(2);
    const mine = await request(api.app).get('/api/logs/order-X').query({ source: 'shop' }).set(shop.header);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ userId: 'alice', action: 'Order', source: 'shop' });
    const theirs = await request(api.app).get('/api/logs').query({ source: 'rogue' }).set(shop.header);
    expect(theirs.body.data.map((e: { userId: string }) => e.userId)).toEqual(['mallory']);
  });
});
