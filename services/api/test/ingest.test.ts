import { createServer, type Server, type Socket } from 'node:net';
import type { Admin } from 'kafkajs';
import request from 'supertest';
import { completeEvent } from '@activity-logger/shared';
import { startTestApi, type TestApi } from './harness';
import { readTopic } from '../../../test/support/kafka';

describe('POST /api/logs and /api/logs/batch (real Kafka)', () => {
  let api: TestApi;
  let kafkaAdmin: Admin;
  const admin = () => kafkaAdmin;

  beforeAll(async () => {
    api = await startTestApi();
    kafkaAdmin = api.kafka.admin();
    await kafkaAdmin.connect();
  });
  afterAll(async () => {
    await kafkaAdmin.disconnect();
    await api.close();
  });

  it('answers 202 only after Kafka holds the event, keyed by userId, with the traceId in its headers', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await api.client
      .post('/api/logs')
      .set('traceparent', traceparent)
      .send({ userId: 'u-1', action: 'User_Login', metadata: { ip: '10.0.0.1' }, timestamp: 1700000000000 });

    expect(res.status).toBe(202);
    // Read the moment the response arrived, without waiting: the broker already holds the event.
    const offsets = await admin().fetchTopicOffsets(api.topic);
    expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(1);
    expect(res.body).toEqual({
      status: 'Logged',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      eventId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      message: 'Event queued successfully',
      statusUrl: expect.stringMatching(/^\/api\/logs\/[0-9a-f-]{36}\/status\?source=test-client&at=\d+:0$/),
    });
    expect(res.headers.location).toBe(res.body.statusUrl);

    const [message] = await readTopic(api.kafka, api.topic, 1);
    // The receipt's position is where the broker put the event.
    expect(res.body.statusUrl).toContain(`at=${message?.partition}:${message?.offset}`);
    expect(message?.key).toBe('u-1');
    expect(message?.headers['trace-id']).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(JSON.parse(message?.value?.toString() ?? '{}')).toEqual({
      v: 1,
      eventId: res.body.eventId,
      userId: 'u-1',
      action: 'User_Login',
      metadata: { ip: '10.0.0.1' },
      timestamp: '2023-11-14T22:13:20.000Z',
      receivedAt: expect.any(String),
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      source: 'test-client',
    });
  });

  it('keeps a client eventId and takes the traceId from X-Request-Id', async () => {
    const res = await api.client
      .post('/api/logs')
      .set('X-Request-Id', 'req-42')
      .send({ userId: 'u-2', action: 'Clicked', eventId: 'client:abc-1' });
    expect(res.status).toBe(202);
    expect(res.body.eventId).toBe('client:abc-1');
    expect(res.body.traceId).toBe('req-42');
    expect(res.headers['x-trace-id']).toBe('req-42');
  });

  it('accepts a batch and reports every minted eventId in order', async () => {
    const events = Array.from({ length: 25 }, (_, i) => ({ userId: `u-${i % 4}`, action: 'Viewed', metadata: { i } }));
    const res = await api.client.post('/api/logs/batch').send({ events });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('Logged');
    expect(res.body.count).toBe(25);
    expect(new Set(res.body.eventIds).size).toBe(25);
  });

  it('rejects a whole batch when one event is bad, naming each index and field', async () => {
    const res = await api.client
      .post('/api/logs/batch')
      .send({ events: [{ userId: 'ok', action: 'ok' }, { action: 'x' }, { userId: 'u', action: 'a', extra: 1 }] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details).toEqual([
      { index: 1, path: 'userId', message: expect.any(String) },
      { index: 2, path: 'extra', message: expect.any(String) },
    ]);
  });

  it.each([
    ['a missing action', { userId: 'u' }, 'action'],
    ['an unknown field', { userId: 'u', action: 'a', role: 'admin' }, 'role'],
    ['an operator key in metadata', { userId: 'u', action: 'a', metadata: { $where: 1 } }, 'metadata.$where'],
    ['a bad timestamp', { userId: 'u', action: 'a', timestamp: 'yesterday' }, 'timestamp'],
  ])('answers 400 with the field path for %s', async (_name, body, path) => {
    const res = await api.client.post('/api/logs').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
  });

  it('answers 400 for malformed JSON, 415 for a body that is not JSON, and never leaks a stack', async () => {
    const malformed = await api.client.post('/api/logs').set('Content-Type', 'application/json').send('{"userId":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('MALFORMED_JSON');
    expect(JSON.stringify(malformed.body)).not.toMatch(/at .*\.js/);

    const text = await api.client.post('/api/logs').set('Content-Type', 'text/plain').send('userId=u');
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');

    const rejected = await api.metrics.ingestRejected.get();
    const count = (reason: string) => rejected.values.find((v) => v.labels.reason === reason)?.value;
    expect(count('MALFORMED_JSON')).toBeGreaterThanOrEqual(1);
    expect(count('UNSUPPORTED_MEDIA_TYPE')).toBeGreaterThanOrEqual(1);
  });

  it('answers 413 above the size limits and 400 above 1000 events', async () => {
    const big = await api.client
      .post('/api/logs')
      .send({ userId: 'u', action: 'a', metadata: { blob: 'x'.repeat(70 * 1024) } });
    expect(big.status).toBe(413);

    const event = { userId: 'u', action: 'a', metadata: { blob: 'x'.repeat(1500) } };
    const huge = await api.client.post('/api/logs/batch').send({ events: Array.from({ length: 800 }, () => event) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('PAYLOAD_TOO_LARGE');

    const many = await api.client
      .post('/api/logs/batch')
      .send({ events: Array.from({ length: 1001 }, () => ({ userId: 'u', action: 'a' })) });
    expect(many.status).toBe(400);
    expect(many.body.error.details[0].path).toBe('events');
  });

  it('splits a batch near 1 MiB over several produce requests and still answers 202', async () => {
    const before =
      (await api.metrics.produceBatchSize.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    const event = { userId: 'big', action: 'Upload', metadata: { blob: 'y'.repeat(900) } };
    const res = await api.client.post('/api/logs/batch').send({ events: Array.from({ length: 1000 }, () => event) });
    expect(res.status).toBe(202);
    const after =
      (await api.metrics.produceBatchSize.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    expect(after - before).toBeGreaterThanOrEqual(2);
  });

  it('sends a publish made just after the previous one was acknowledged, without waiting for its deadline', async () => {
    // An in-process caller one async layer away publishes in the window between the end of the
    // publisher's drain and its cleanup; with the real producer this once left every second
    // publish queued until it timed out.
    const send = async (i: number) => {
      await api.publisher.publish(
        [
          completeEvent(
            { userId: 'seq', action: 'a' },
            { receivedAt: new Date(), traceId: 't', mintId: () => `seq-${i}` },
          ),
        ],
        Date.now() + 2000,
      );
    };
    const started = Date.now();
    for (let i = 0; i < 6; i += 1) await send(i);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('acknowledges two concurrent 1,000-event batches with the longest ids on one partition', async () => {
    // Headers count too: a 128-character X-Request-Id becomes each event's trace-id header.
    const batch = (b: number) =>
      Array.from({ length: 1000 }, (_, i) => ({
        userId: 'one-user',
        action: 'a',
        eventId: `${b}-${i}-`.padEnd(64, 'x'),
      }));
    const responses = await Promise.all(
      [1, 2].map((b) =>
        api.client
          .post('/api/logs/batch')
          .set('X-Request-Id', String(b).repeat(128))
          .send({ events: batch(b) }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual([202, 202]);
  });

  it('coalesces concurrent requests into fewer produce requests', async () => {
    const count = () =>
      api.metrics.produceBatchSize
        .get()
        .then((m) => m.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0);
    const before = await count();
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => api.client.post('/api/logs').send({ userId: `c-${i}`, action: 'Tap' })),
    );
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect((await count()) - before).toBeLessThan(60);
  });
});

describe('POST /api/logs when the broker cannot acknowledge', () => {
  // A "broker" that accepts connections and never answers: the worst case, a hang, not a refusal.
  let blackhole: Server;
  const sockets = new Set<Socket>();
  let api: TestApi;

  beforeAll(async () => {
    blackhole = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const { port } = blackhole.address() as { port: number };
    api = await startTestApi({ brokers: [`127.0.0.1:${port}`], produceTimeoutMs: 1500 });
  });
  afterAll(async () => {
    await api.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackhole.close(resolve));
  });

  it('answers 503 with Retry-After within the bound, never 202', async () => {
    const started = Date.now();
    const res = await api.client.post('/api/logs').send({ userId: 'u', action: 'a' });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.error.code).toBe('UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('reports not ready on /readyz', async () => {
    const res = await request(api.opsUrl).get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'not_ready', failing: ['kafka'] });
    expect(res.body.checks).toEqual({ http: 'ok', kafka: 'failing', mongodb: 'ok' });
  });
});
