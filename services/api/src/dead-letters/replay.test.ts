import { encodeEvent, type ActivityEvent } from '@activity-logger/shared';
import type { EventPlacement, EventPublisher } from '../ingest/publisher';
import { PublishError } from '../ingest/publisher';
import { FakeLetterStore } from './fake-letter-store';
import type { ReplayClaim, StoredLetter } from './letter-store';
import { replayLetter, type ReplayDeps } from './replay';

const receivedAt = new Date('2026-01-02T03:04:05.000Z');
const original: ActivityEvent = {
  eventId: 'evt-1',
  userId: 'u1',
  action: 'Login',
  timestamp: new Date('2026-01-02T03:00:00.000Z'),
  receivedAt,
  traceId: 'trace-original',
  source: 'mobile',
};

function letter(overrides: Partial<StoredLetter> = {}): StoredLetter {
  return {
    _id: 'logs:0:7',
    topic: 'logs',
    partition: 0,
    offset: 7,
    reason: 'store_rejected',
    detail: 'rejected',
    failedAt: new Date('2026-01-02T03:04:06.000Z'),
    key: Buffer.from('u1'),
    value: Buffer.from(encodeEvent(original)),
    headers: { 'event-id': 'evt-1' },
    eventId: 'evt-1',
    source: 'mobile',
    userId: 'u1',
    traceId: 'trace-original',
    receivedAt,
    state: 'open',
    ...overrides,
  };
}

/** Records what it was asked to publish; `gate` holds every publish until released. */
class RecordingPublisher implements EventPublisher {
  readonly published: ActivityEvent[] = [];
  failWith: Error | undefined;
  private release: (() => void) | undefined;
  private gate: Promise<void> | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }
  open(): void {
    this.release?.();
  }
  async publish(events: readonly ActivityEvent[]): Promise<EventPlacement[]> {
    if (this.gate !== undefined) await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    this.published.push(...events);
    return events.map((_, index) => ({ partition: 0, offset: this.published.length - events.length + index }));
  }
  async close(): Promise<void> {}
}

const replayer = { by: 'ops-admin', traceId: 'trace-replay', authDisabled: false };

function setup(letters: StoredLetter[], claims: [string, ReplayClaim][] = []) {
  const store = new FakeLetterStore(letters, claims);
  const publisher = new RecordingPublisher();
  const deps: ReplayDeps = { store, publisher, produceTimeoutMs: 1000, staleClaimMs: 60_000 };
  return { store, publisher, deps };
}

describe('replayLetter', () => {
  it('produces the original event as it was, under its eventId and source, and marks the letter replayed', async () => {
    const { store, publisher, deps } = setup([letter()]);
    const outcome = await replayLetter('logs:0:7', undefined, replayer, deps);
    expect(outcome.kind).toBe('replayed');
    expect(publisher.published).toEqual([original]);
    const stored = store.letters.get('logs:0:7');
    expect(stored?.state).toBe('replayed');
    expect(stored?.resolution?.by).toBe('ops-admin');
    expect(store.claims.get('logs:0:7')?.by).toBe('ops-admin'); // kept: a late racer cannot claim again
  });

  it('answers a second replay as the first without producing again', async () => {
    const { publisher, deps } = setup([letter()]);
    const first = await replayLetter('logs:0:7', undefined, replayer, deps);
    const second = await replayLetter('logs:0:7', undefined, { ...replayer, by: 'someone-else' }, deps);
    expect(publisher.published).toHaveLength(1);
    expect(second).toMatchObject({ kind: 'replayed', produced: false });
    if (first.kind !== 'replayed' || second.kind !== 'replayed') throw new Error('not replayed');
    expect(second.letter.resolution).toEqual(first.letter.resolution);
  });

  it('produces once when replays of one letter run concurrently', async () => {
    const { publisher, deps } = setup([letter()]);
    publisher.hold();
    const racing = Array.from({ length: 5 }, () => replayLetter('logs:0:7', undefined, replayer, deps));
    await new Promise((resolve) => setImmediate(resolve));
    publisher.open();
    const outcomes = await Promise.all(racing);
    expect(publisher.published).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'replayed' && o.produced)).toHaveLength(1);
    expect(outcomes.every((o) => o.kind === 'replayed' || o.kind === 'in_progress')).toBe(true);
  });

  it('asks for a correction when the original is not a valid event, and takes a corrected one', async () => {
    const broken = letter({
      reason: 'schema_invalid',
      value: Buffer.from(JSON.stringify({ v: 1, eventId: 'evt-1', userId: '', receivedAt: receivedAt.toISOString() })),
    });
    const { store, publisher, deps } = setup([broken]);
    const refused = await replayLetter('logs:0:7', undefined, replayer, deps);
    expect(refused.kind).toBe('needs_correction');
    expect(store.letters.get('logs:0:7')?.state).toBe('open');

    const corrected = await replayLetter(
      'logs:0:7',
      { event: { userId: 'u1', action: 'Login', metadata: { fixed: true } } },
      replayer,
      deps,
    );
    expect(corrected.kind).toBe('replayed');
    expect(publisher.published).toEqual([
      {
        eventId: 'evt-1',
        userId: 'u1',
        action: 'Login',
        metadata: { fixed: true },
        // No timestamp in the correction: the original acceptance time, as ingest would have used.
        timestamp: receivedAt,
        receivedAt,
        traceId: 'trace-original',
        source: 'mobile',
      },
    ]);
  });

  it('refuses a corrected event that is invalid or names another eventId', async () => {
    const { publisher, deps } = setup([letter()]);
    const invalid = await replayLetter('logs:0:7', { event: { userId: 'u1' } }, replayer, deps);
    expect(invalid).toMatchObject({ kind: 'invalid', details: [{ path: 'event.action' }] });
    const otherId = await replayLetter(
      'logs:0:7',
      { event: { userId: 'u', action: 'a', eventId: 'x' } },
      replayer,
      deps,
    );
    expect(otherId).toMatchObject({ kind: 'invalid', details: [{ path: 'event.eventId' }] });
    expect(publisher.published).toHaveLength(0);
  });

  it('needs a source for a letter whose source could not be read', async () => {
    const unparseable = letter({ reason: 'unparseable', value: Buffer.from([0xff, 0x00]), source: undefined });
    delete unparseable.source;
    delete unparseable.receivedAt;
    const { publisher, deps } = setup([unparseable]);
    const event = { userId: 'u1', action: 'Login' };
    expect((await replayLetter('logs:0:7', { event }, replayer, deps)).kind).toBe('needs_correction');
    const done = await replayLetter('logs:0:7', { event, source: 'mobile' }, replayer, deps);
    expect(done.kind).toBe('replayed');
    // No readable receivedAt: failedAt, the earliest instant the letter proves.
    expect(publisher.published[0]).toMatchObject({
      source: 'mobile',
      eventId: 'evt-1',
      receivedAt: unparseable.failedAt,
    });
  });

  it('gives the claim back when Kafka does not take the event, so it can be replayed again', async () => {
    const { store, publisher, deps } = setup([letter()]);
    publisher.failWith = new PublishError('PUBLISH_FAILED', 'down');
    await expect(replayLetter('logs:0:7', undefined, replayer, deps)).rejects.toBeInstanceOf(PublishError);
    expect(store.letters.get('logs:0:7')).toMatchObject({ state: 'open' });
    expect(store.claims.has('logs:0:7')).toBe(false);
    publisher.failWith = undefined;
    expect((await replayLetter('logs:0:7', undefined, replayer, deps)).kind).toBe('replayed');
  });

  it('does not replay a discarded letter, and takes over a stale claim', async () => {
    const { deps, publisher } = setup(
      [
        letter({ _id: 'd', state: 'discarded', resolution: { by: 'x', at: new Date(), reason: 'junk' } }),
        letter({ _id: 's' }),
      ],
      [['s', { by: 'crashed', at: new Date(Date.now() - 120_000), token: 't' }]],
    );
    expect((await replayLetter('d', undefined, replayer, deps)).kind).toBe('discarded');
    expect((await replayLetter('s', undefined, replayer, deps)).kind).toBe('replayed');
    expect((await replayLetter('missing', undefined, replayer, deps)).kind).toBe('not_found');
    expect(publisher.published).toHaveLength(1);
  });
});
