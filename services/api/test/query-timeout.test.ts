import { mintEventId, toLogDocument } from '@activity-logger/shared';
import { startTestApi, type TestApi } from './harness';

/**
 * A read that takes longer than QUERY_TIMEOUT_MS is stopped by the store (maxTimeMS) and
 * answered 503 with Retry-After, in about the time limit. The events are many enough that an
 * unfiltered sorted page takes the local FerretDB seconds (it scans and sorts in full).
 */
describe('bounded reads (real store)', () => {
  // Overridable to measure at other scales (e.g. the default 3000 ms limit needs ~40,000 events here).
  const timeoutMs = Number(process.env.QUERY_TIMEOUT_TEST_MS ?? 150);
  const batches = Number(process.env.QUERY_TIMEOUT_TEST_EVENTS ?? 20_000) / 5000;
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ queryTimeoutMs: timeoutMs });
    const now = Date.now();
    for (let batch = 0; batch < batches; batch += 1) {
      const docs = Array.from({ length: 5000 }, (_, i) =>
        toLogDocument({
          eventId: mintEventId(),
          userId: `u${i % 100}`,
          action: 'Load',
          metadata: { pad: 'x'.repeat(200) },
          timestamp: new Date(now - (batch * 5000 + i) * 1000),
          receivedAt: new Date(now),
          traceId: 't',
          source: 'load',
        }),
      );
      await api.model.collection.insertMany(docs as never[]);
    }
  });
  afterAll(async () => {
    await api.close();
  });

  it('answers 503 QUERY_TIMEOUT with Retry-After about when the limit runs out', async () => {
    const started = performance.now();
    const res = await api.client.get('/api/logs').query({ limit: '500', order: 'asc' });
    const elapsedMs = performance.now() - started;
    process.stdout.write(
      `query-timeout: answered ${res.status} after ${elapsedMs.toFixed(0)} ms (limit ${timeoutMs} ms)\n`,
    );
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('QUERY_TIMEOUT');
    expect(res.headers['retry-after']).toBeDefined();
    expect(elapsedMs).toBeLessThan(timeoutMs + 2500);
  });
});
