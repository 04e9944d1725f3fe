import { backoffDelay, waitWithHeartbeats } from './backoff';

describe('backoffDelay', () => {
  const policy = { initialMs: 200, maxMs: 10_000 };

  it('doubles from the initial delay and stops at the maximum', () => {
    const highest = (attempt: number): number => backoffDelay(attempt, policy, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map(highest)).toEqual([
      200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000,
    ]);
  });

  it('keeps at least half of the delay and randomises the other half', () => {
    expect(backoffDelay(2, policy, () => 0)).toBe(400);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(600);
    for (let i = 0; i < 100; i += 1) {
      const delay = backoffDelay(3, policy);
      expect(delay).toBeGreaterThanOrEqual(800);
      expect(delay).toBeLessThanOrEqual(1600);
    }
  });
});

describe('waitWithHeartbeats', () => {
  it('heartbeats while waiting and reports a full wait', async () => {
    const heartbeat = jest.fn(() => Promise.resolve());
    const waited = await waitWithHeartbeats(60, {
      heartbeat,
      shouldAbandon: () => false,
      signal: new AbortController().signal,
      heartbeatEveryMs: 20,
    });
    expect(waited).toBe(true);
    expect(heartbeat.mock.calls.length).toBeGreaterThanOrEqual(2);
  });

  it('returns early when aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = waitWithHeartbeats(10_000, {
      heartbeat: () => Promise.resolve(),
      shouldAbandon: () => false,
      signal: controller.signal,
    });
    controller.abort();
    expect(await waiting).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('returns early when the batch should be abandoned', async () => {
    expect(
      await waitWithHeartbeats(10_000, {
        heartbeat: () => Promise.resolve(),
        shouldAbandon: () => true,
        signal: new AbortController().signal,
      }),
    ).toBe(false);
  });
});
