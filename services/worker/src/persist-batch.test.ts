import pino from 'pino';
import { completeEvent, encodeEvent, type ActivityEvent } from '@activity-logger/shared';
import type { ConsumedMessage } from './consumed-message';
import type { DeadLetterStore } from './dead-letter-store';
import type { DeadLetter, DeadLetterPublisher } from './dead-letters';
import { DeadLetterPublishError, StoreUnavailableError } from './errors';
import { FakeErasureGuard } from './fake-erasure-guard';
import { FakeEventWriter } from './fake-event-writer';
import { createWorkerMetrics, type WorkerMetrics } from './metrics';
import { createProgressTracker } from './progress';
import { persistBatch } from './persist-batch';

class FakeDeadLetters implements DeadLetterPublisher {
  readonly published: DeadLetter[] = [];
  fail = false;

  publish(letters: readonly DeadLetter[]): Promise<void> {
    if (this.fail) return Promise.reject(new DeadLetterPublishError('broker down', new Error('timeout')));
    this.published.push(...letters);
    return Promise.resolve();
  }
}

function event(n: number, overrides: Partial<ActivityEvent> = {}): ActivityEvent {
  return {
    ...completeEvent(
      { userId: `user-${n % 3}`, action: 'User_Login', metadata: { n } },
      { receivedAt: new Date('2026-01-02T03:04:05Z'), traceId: `trace-${n}`, mintId: () => `event-${n}` },
    ),
    ...overrides,
  };
}

class FakeLetterStore implements DeadLetterStore {
  readonly recorded: DeadLetter[] = [];
  /** Letters stored emptied (their user erased), at the write or just after it. */
  readonly erased: DeadLetter[] = [];
  fail = false;

  record(letters: readonly DeadLetter[], _failedAt: Date, erased?: ReadonlySet<DeadLetter>): Promise<void> {
    if (this.fail) return Promise.reject(new StoreUnavailableError('store down', new Error('reset')));
    this.recorded.push(...letters);
    this.erased.push(...letters.filter((letter) => erased?.has(letter) === true));
    return Promise.resolve();
  }
  emptyErased(letters: readonly DeadLetter[]): Promise<void> {
    this.erased.push(...letters);
    return Promise.resolve();
  }
}

let nextOffset = 0;
function message(value: string | null, headers: Record<string, string> = {}): ConsumedMessage {
  const offset = String(nextOffset++);
  return {
    topic: 'activity-logs',
    partition: 1,
    offset,
    key: Buffer.from('user-1'),
    value: value === null ? null : Buffer.from(value),
    headers,
  };
}

async function counter(metrics: WorkerMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = (metric?.values ?? []).find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return Number(value?.value ?? 0);
}

describe('persistBatch', () => {
  let writer: FakeEventWriter;
  let deadLetters: FakeDeadLetters;
  let letterStore: FakeLetterStore;
  let erasures: FakeErasureGuard;
  let metrics: WorkerMetrics;
  const logger = pino({ level: 'silent' });
  const deps = (): Parameters<typeof persistBatch>[1] => ({
    writer,
    deadLetters,
    letterStore,
    erasures,
    logger,
    metrics,
  });

  beforeEach(() => {
    writer = new FakeEventWriter();
    deadLetters = new FakeDeadLetters();
    letterStore = new FakeLetterStore();
    erasures = new FakeErasureGuard();
    metrics = createWorkerMetrics({ progress: createProgressTracker(), defaultMetrics: false });
  });

  it('stores valid events with one write and gives every message an outcome in offset order', async () => {
    const messages = [0, 1, 2].map((n) => message(encodeEvent(event(n))));

    const outcomes = await persistBatch(messages, deps());

    expect(outcomes).toEqual(
      messages.map((m) => ({ offset: m.offset, kind: 'stored', receivedAt: new Date('2026-01-02T03:04:05Z') })),
    );
    expect(writer.calls).toBe(1);
    expect([...writer.stored.keys()]).toEqual(['event-0', 'event-1', 'event-2']);
    expect(writer.stored.get('event-1')).toEqual(event(1));
    expect(deadLetters.published).toEqual([]);
    expect(await counter(metrics, 'worker_events_stored_total')).toBe(3);
    expect(await counter(metrics, 'worker_messages_consumed_total')).toBe(3);
  });

  it('counts an already stored eventId as a duplicate, not a failure', async () => {
    await persistBatch([message(encodeEvent(event(7)))], deps());

    const outcomes = await persistBatch([message(encodeEvent(event(7))), message(encodeEvent(event(8)))], deps());

    expect(outcomes.map((o) => o.kind)).toEqual(['duplicate', 'stored']);
    expect(await counter(metrics, 'worker_events_duplicate_total')).toBe(1);
  });

  it('dead-letters non-JSON, empty and schema-invalid messages with their reason and stores the rest', async () => {
    const [good1, notJson, tombstone, invalid, good2] = [
      message(encodeEvent(event(1))),
      message('{"v":1,', { 'trace-id': 'trace-broken' }),
      message(null),
      message(JSON.stringify({ v: 1, eventId: 'x', userId: '', action: 'a' })),
      message(encodeEvent(event(2))),
    ] as const;

    const outcomes = await persistBatch([good1, notJson, tombstone, invalid, good2], deps());

    expect(outcomes).toEqual([
      { offset: good1.offset, kind: 'stored', receivedAt: expect.any(Date) as Date },
      { offset: notJson.offset, kind: 'dlq', reason: 'unparseable' },
      { offset: tombstone.offset, kind: 'dlq', reason: 'unparseable' },
      { offset: invalid.offset, kind: 'dlq', reason: 'schema_invalid' },
      { offset: good2.offset, kind: 'stored', receivedAt: expect.any(Date) as Date },
    ]);
    expect(deadLetters.published.map((l) => [l.message, l.reason])).toEqual([
      [notJson, 'unparseable'],
      [tombstone, 'unparseable'],
      [invalid, 'schema_invalid'],
    ]);
    const detail = deadLetters.published[2]?.detail ?? '';
    expect(detail).toContain('userId');
    expect(detail).toContain('timestamp');
    expect(await counter(metrics, 'worker_events_dead_lettered_total', { reason: 'unparseable' })).toBe(2);
    expect(await counter(metrics, 'worker_events_dead_lettered_total', { reason: 'schema_invalid' })).toBe(1);
  });

  it('dead-letters an event the store refuses for good, with the server code in the detail', async () => {
    writer.rejectIds.set('event-5', { code: 2, message: 'nested arrays are not supported' });
    const messages = [message(encodeEvent(event(4))), message(encodeEvent(event(5)))];

    const outcomes = await persistBatch(messages, deps());

    expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'dlq']);
    expect(deadLetters.published).toEqual([
      { message: messages[1], reason: 'store_rejected', detail: 'code 2: nested arrays are not supported' },
    ]);
  });

  it('throws the retriable store error as is and publishes nothing when the write as a whole fails', async () => {
    writer.failuresToSimulate = 1;

    const failure = persistBatch([message('not json'), message(encodeEvent(event(9)))], deps());

    await expect(failure).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(failure).rejects.toMatchObject({ retriable: true });
    expect(deadLetters.published).toEqual([]);
    expect(await counter(metrics, 'worker_messages_consumed_total')).toBe(0);
  });

  it('fails retriably when the DLQ does not acknowledge, and succeeds on retry without storing twice', async () => {
    deadLetters.fail = true;
    const messages = [message('garbage'), message(encodeEvent(event(10)))];

    await expect(persistBatch(messages, deps())).rejects.toMatchObject({ code: 'DLQ_UNAVAILABLE', retriable: true });

    deadLetters.fail = false;
    const outcomes = await persistBatch(messages, deps());
    expect(outcomes.map((o) => o.kind)).toEqual(['dlq', 'duplicate']);
    expect(deadLetters.published).toHaveLength(1);
  });

  it('stores a v1 message with fields it does not know, ignoring them (an API deployed before the worker)', async () => {
    const newer = { ...(JSON.parse(encodeEvent(event(11))) as object), sessionId: 's-1', region: { name: 'eu' } };
    const unknownVersion = { ...(JSON.parse(encodeEvent(event(12))) as object), v: 2 };

    const outcomes = await persistBatch(
      [message(JSON.stringify(newer)), message(JSON.stringify(unknownVersion))],
      deps(),
    );

    expect(outcomes.map((o) => o.kind)).toEqual(['stored', 'dlq']);
    expect(writer.stored.get('event-11')).toEqual(event(11));
    expect(deadLetters.published[0]?.detail).toContain('v:');
  });

  it('does not call the store for a batch of poison only', async () => {
    await persistBatch([message('[]')], deps());

    expect(writer.calls).toBe(0);
    expect(deadLetters.published.map((l) => l.reason)).toEqual(['schema_invalid']);
  });

  it("logs the batch's distinct traceIds at info level, so a trace can be followed into the worker", async () => {
    const lines: string[] = [];
    const capturing = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const events = [event(1), event(2), { ...event(3), traceId: 'trace-1' }];
    await persistBatch(
      events.map((e) => message(encodeEvent(e))),
      { ...deps(), logger: capturing },
    );
    const batchLine = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((l) => l.msg === 'batch persisted');
    expect(batchLine?.traceIds).toEqual(['trace-1', 'trace-2']);
    expect(batchLine?.stored).toBe(3);
  });

  it('stores each event with its partition, offset and the time of the write', async () => {
    const messages = [0, 1].map((n) => message(encodeEvent(event(n))));
    const storedAt = new Date('2026-03-04T05:06:07Z');

    await persistBatch(messages, { ...deps(), now: () => storedAt });

    expect(writer.placements.get('event-1')).toEqual({ partition: 1, offset: Number(messages[1]?.offset), storedAt });
  });

  it('keeps every dead letter in the store as well as on the DLQ topic, before resolving', async () => {
    const poison = message('not json');
    await persistBatch([poison, message(encodeEvent(event(20)))], deps());
    expect(letterStore.recorded.map((l) => [l.message, l.reason])).toEqual([[poison, 'unparseable']]);

    letterStore.fail = true;
    await expect(persistBatch([message('still not json')], deps())).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retriable: true,
    });
  });

  it('does not store events of a user erased after they were received, and counts them', async () => {
    const received = new Date('2026-01-02T03:04:05Z');
    erasures.erasures.set('user-1', new Date(received.getTime() + 1)); // after: covers them
    erasures.erasures.set('user-2', new Date(received.getTime() - 1)); // before: does not
    const messages = [1, 2, 4].map((n) => message(encodeEvent(event(n)))); // users 1, 2, 1

    const outcomes = await persistBatch(messages, deps());

    expect(outcomes.map((o) => o.kind)).toEqual(['erased', 'stored', 'erased']);
    expect([...writer.stored.keys()]).toEqual(['event-2']);
    expect(erasures.lookups).toBe(2);
    expect(await counter(metrics, 'worker_events_erased_total')).toBe(2);
  });

  it('removes what it wrote when an erasure was recorded while the batch was being written', async () => {
    const received = new Date('2026-01-02T03:04:05Z');
    erasures.beforeSecondLook = () => erasures.erasures.set('user-1', new Date(received.getTime() + 1));
    const messages = [1, 2].map((n) => message(encodeEvent(event(n))));

    const outcomes = await persistBatch(messages, deps());

    // The fake writer stored both; the second look found the erasure and removed user-1's one.
    expect(outcomes.map((o) => o.kind)).toEqual(['erased', 'stored']);
    expect(erasures.removed).toEqual(['event-1']);
  });

  it('deletes only the erased user’s document when a slipped event shares its store key with another user’s', async () => {
    const received = new Date('2026-01-02T03:04:05Z');
    erasures.beforeSecondLook = () => erasures.erasures.set('user-1', new Date(received.getTime() + 1));
    const removals: unknown[] = [];
    erasures.removeStored = (targets) => {
      removals.push(...targets);
      return Promise.resolve(targets.length);
    };

    await persistBatch([message(encodeEvent(event(1)))], deps());

    // The delete is bounded to that user and to events received before the erasure, never by key alone.
    expect(removals).toEqual([{ key: 'event-1', userId: 'user-1', erasedAt: new Date(received.getTime() + 1) }]);
  });

  it('stores an erased user’s dead letter emptied, also when the erasure comes while it is written', async () => {
    const received = new Date('2026-01-02T03:04:05Z');
    erasures.erasures.set('user-1', new Date(received.getTime() + 1));
    // Schema-invalid (an unknown wire version) events of user-1 (erased) and user-2 (not).
    const poison = (userId: string) =>
      message(JSON.stringify({ v: 99, userId, action: 'A', receivedAt: received.toISOString() }));
    const [ofErased, ofOther, ofLate] = [poison('user-1'), poison('user-2'), poison('user-0')];
    erasures.beforeSecondLook = () => erasures.erasures.set('user-0', new Date(received.getTime() + 1));

    const outcomes = await persistBatch([ofErased, ofOther, ofLate], deps());

    expect(outcomes.map((o) => o.kind)).toEqual(['dlq', 'dlq', 'dlq']);
    expect(letterStore.recorded.map((l) => l.message)).toEqual([ofErased, ofOther, ofLate]);
    // user-1's at the write, user-0's just after it (erased meanwhile); user-2's stays whole.
    expect(letterStore.erased.map((l) => l.message)).toEqual([ofErased, ofLate]);
  });
});
