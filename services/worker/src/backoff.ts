import { setTimeout as sleep } from 'node:timers/promises';
import type { RetryPolicy } from './config';

/**
 * Delay before retry number `attempt` (0 for the first retry): exponential from `initialMs`,
 * capped at `maxMs`, with "equal jitter" (half fixed, half random) so that the partitions of
 * many workers that lost the store at the same moment do not hammer it in step when it returns.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = policy.initialMs * 2 ** Math.min(attempt, 30);
  const ceiling = Math.min(policy.maxMs, exponential);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Waits `ms`, calling `heartbeat` every `heartbeatEveryMs` so the group does not evict a member
 * that is only waiting out an outage. Returns early (false) as soon as `shouldAbandon` says the
 * batch no longer matters or `signal` aborts; true when the full delay passed.
 */
export async function waitWithHeartbeats(
  ms: number,
  options: {
    heartbeat: () => Promise<void>;
    shouldAbandon: () => boolean;
    signal: AbortSignal;
    heartbeatEveryMs?: number;
  },
): Promise<boolean> {
  const slice = options.heartbeatEveryMs ?? 1000;
  const deadline = Date.now() + ms;
  for (;;) {
    if (options.signal.aborted || options.shouldAbandon()) return false;
    const remaining = deadline - Date.now();
    if (remaining <= 0) return true;
    try {
      await sleep(Math.min(remaining, slice), undefined, { signal: options.signal });
    } catch (error) {
      if (options.signal.aborted) return false;
      throw error;
    }
    await options.heartbeat();
  }
}
