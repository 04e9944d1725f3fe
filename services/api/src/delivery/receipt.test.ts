import type { StoredEvent } from '@activity-logger/shared';
import { FakeLogReader } from '../query/fake-log-reader';
import { FakeDeliveryStore } from './fake-delivery-store';
import { receiptOf } from './receipt';

const through = new Date('2026-02-03T04:05:06Z');
const watermark = { completeThrough: () => Promise.resolve(through) };
const stored: StoredEvent = {
  eventId: 'e-1',
  source: 'shop',
  userId: 'u',
  action: 'a',
  timestamp: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:00.000Z',
  traceId: 't',
  storedAt: '2026-01-01T00:00:01.000Z',
};

function letter(state: 'open' | 'replayed' | 'discarded', failedAt: string) {
  return {
    _id: `t:0:${failedAt}`,
    topic: 't',
    partition: 0,
    offset: 3,
    reason: 'schema_invalid',
    detail: 'action: Required',
    failedAt: new Date(failedAt),
    key: null,
    value: null,
    headers: {},
    eventId: 'e-1',
    state,
  };
}

describe('receiptOf', () => {
  let store: FakeDeliveryStore;
  const deps = (events: StoredEvent[] = []) => {
    const reader = new FakeLogReader(events);
    const findByEventId = reader.findByEventId.bind(reader);
    reader.findByEventId = (...args) => {
      store.calls.push('findByEventId');
      return findByEventId(...args);
    };
    return { topic: 't', reader, store, watermark };
  };
  const at = { partition: 0, offset: 10 };

  beforeEach(() => {
    store = new FakeDeliveryStore();
  });

  it('says stored, with when, ahead of any dead letter of the same event (a replay that was stored)', async () => {
    store.letters.push(letter('replayed', '2026-01-01T00:00:00Z'));
    const result = await receiptOf({ eventId: 'e-1', source: 'shop', at }, deps([stored]));
    expect(result).toEqual({
      ok: true,
      receipt: {
        eventId: 'e-1',
        source: 'shop',
        state: 'stored',
        storedAt: stored.storedAt,
        completeThrough: through.toISOString(),
      },
    });
  });

  it('reads the progress before the event and the letters, so a commit in between cannot fake a removal', async () => {
    await receiptOf({ eventId: 'e-1', at }, deps());
    expect(store.calls).toEqual(['progressOf', 'findByEventId', 'lettersOf']);
  });

  it('shows the open letter first, else the latest', async () => {
    store.letters.push(letter('discarded', '2026-01-03T00:00:00Z'), letter('open', '2026-01-01T00:00:00Z'));
    const result = await receiptOf({ eventId: 'e-1' }, deps());
    expect(result.ok && result.receipt.deadLetter?.state).toBe('open');
    store.letters.splice(1, 1);
    const latest = await receiptOf({ eventId: 'e-1' }, deps());
    expect(latest.ok && latest.receipt).toMatchObject({ state: 'dead_lettered', deadLetter: { state: 'discarded' } });
  });

  it('says pending with how many are ahead until the committed offset passes it, then removed', async () => {
    store.progress.set(0, { _id: 't:0', topic: 't', partition: 0, committedOffset: 4, updatedAt: new Date() });
    const pending = await receiptOf({ eventId: 'e-1', at }, deps());
    expect(pending.ok && pending.receipt.pending).toEqual({ partition: 0, offset: 10, ahead: 6 });
    store.progress.set(0, { _id: 't:0', topic: 't', partition: 0, committedOffset: 11, updatedAt: new Date() });
    const removed = await receiptOf({ eventId: 'e-1', at }, deps());
    expect(removed.ok && removed.receipt.state).toBe('removed');
  });

  it('says unknown without a position, and names the sources when several sent the id', async () => {
    const unknown = await receiptOf({ eventId: 'e-1' }, deps());
    expect(unknown.ok && unknown.receipt.state).toBe('unknown');
    const twins = await receiptOf({ eventId: 'e-1' }, deps([stored, { ...stored, source: 'other' }]));
    expect(twins).toEqual({ ok: false, sources: ['shop', 'other'] });
  });
});
