import { FakeDeliveryStore } from './fake-delivery-store';
import { eraseUser } from './erasure';

describe('eraseUser', () => {
  it('records the erasure before deleting, then records how many it deleted', async () => {
    const store = new FakeDeliveryStore();
    const now = new Date('2026-04-05T06:07:08Z');
    store.eventsByUser.set('u-1', [new Date(now.getTime() - 1), new Date(now.getTime() - 2), now]);
    const letter = (userId: string, failedAt: Date) => ({
      _id: `t:0:${store.letters.length}`,
      ...{ topic: 't', partition: 0, offset: store.letters.length, reason: 'schema_invalid', detail: 'd' },
      ...{ failedAt, key: Buffer.from(userId), value: Buffer.from('{"userId":"…"}'), headers: { h: 'v' } },
      ...{ userId, state: 'open' as const },
    });
    store.letters.push(letter('u-1', new Date(now.getTime() - 5)), letter('u-2', new Date(now.getTime() - 5)));

    const erasure = await eraseUser(
      { userId: 'u-1', requestedBy: 'ops' },
      { store, now: () => now, newId: () => 'er-1' },
    );

    expect(store.calls).toEqual(['recordErasure', 'deleteEventsOf', 'eraseDeadLettersOf', 'setErasureDeleted']);
    expect(erasure).toEqual({
      id: 'er-1',
      userId: 'u-1',
      requestedBy: 'ops',
      requestedAt: now.toISOString(),
      deleted: 2,
      deadLetters: 1,
    });
    expect(store.erasures[0]).toMatchObject({ deleted: 2, deadLetters: 1 });
    // The user's letter lost its bytes and cannot be replayed; another user's is untouched.
    expect(store.letters.map((l) => [l.userId, l.value, l.state])).toEqual([
      ['u-1', null, 'discarded'],
      ['u-2', Buffer.from('{"userId":"…"}'), 'open'],
    ]);
    // Received at the erasure's instant or later: kept (the boundary is "received before").
    expect(store.eventsByUser.get('u-1')).toEqual([now]);
  });

  it('leaves the erasure recorded when the delete fails, so nothing new is stored and a retry finishes it', async () => {
    const store = new FakeDeliveryStore();
    store.deleteEventsOf = () => Promise.reject(new Error('store away'));
    await expect(
      eraseUser({ userId: 'u-1', requestedBy: 'ops' }, { store, now: () => new Date(), newId: () => 'er-2' }),
    ).rejects.toThrow('store away');
    expect(store.erasures.map((e) => e._id)).toEqual(['er-2']);
  });
});
