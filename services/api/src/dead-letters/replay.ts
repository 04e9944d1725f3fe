import { randomUUID } from 'node:crypto';
import { mintEventId, type ActivityEvent } from '@activity-logger/shared';
import type { ErrorDetail } from '../http/errors';
import type { EventPlacement, EventPublisher } from '../ingest/publisher';
import type { DeadLetterStore, StoredLetter } from './letter-store';
import { buildReplayEvent, type ReplayBody } from './replay-event';

export interface ReplayDeps {
  readonly store: DeadLetterStore;
  readonly publisher: EventPublisher;
  readonly produceTimeoutMs: number;
  /**
   * A claim older than this belongs to a replay that died between claiming and marking (a crash,
   * a store that went away): another replay may take the letter over.
   */
  readonly staleClaimMs: number;
  readonly now?: () => Date;
}

export interface Replayer {
  /** The admin key's name, the request's traceId, and whether auth is disabled. */
  readonly by: string;
  readonly traceId: string;
  readonly authDisabled: boolean;
}

export type ReplayOutcome =
  /** `produced` false: it had been replayed already, and this call produced nothing. */
  | { kind: 'replayed'; letter: StoredLetter; produced: boolean; event?: ActivityEvent }
  | { kind: 'not_found' }
  | { kind: 'discarded'; letter: StoredLetter }
  /** Another replay of this letter is producing it right now. */
  | { kind: 'in_progress'; letter: StoredLetter }
  | { kind: 'invalid'; details: ErrorDetail[] }
  | { kind: 'needs_correction'; details: ErrorDetail[] };

function settled(letter: StoredLetter): ReplayOutcome | undefined {
  if (letter.state === 'replayed') return { kind: 'replayed', letter, produced: false };
  if (letter.state === 'discarded') return { kind: 'discarded', letter };
  return undefined;
}

/**
 * Sends a dead letter back to the main topic, at most once however often and however
 * concurrently it is asked: the letter is claimed (a claim document keyed by the letter's id:
 * only one insert wins, see letter-store.ts), then produced through the ingest publisher
 * (acks=all), then marked replayed. A replay that finds it replayed answers as the first one did,
 * producing nothing. A produce that fails gives the claim back. Should the process die between the
 * produce and the mark, the claim goes stale and a later replay produces again — harmless for the
 * store, whose key (`<source>/<eventId>`) keeps the event once.
 */
export async function replayLetter(
  id: string,
  body: ReplayBody | undefined,
  replayer: Replayer,
  deps: ReplayDeps,
): Promise<ReplayOutcome> {
  const now = deps.now ?? (() => new Date());
  const letter = await deps.store.get(id);
  if (letter === undefined) return { kind: 'not_found' };
  const done = settled(letter);
  if (done !== undefined) return done;

  const built = buildReplayEvent(letter, body, {
    traceId: replayer.traceId,
    authDisabled: replayer.authDisabled,
    mintId: mintEventId,
  });
  if (!built.ok) return { kind: built.kind, details: built.details };

  const token = randomUUID();
  const claimedAt = now();
  const claimed = await deps.store.claim(
    id,
    { by: replayer.by, at: claimedAt, token },
    new Date(claimedAt.getTime() - deps.staleClaimMs),
  );
  if (claimed === undefined) {
    const current = await deps.store.get(id);
    if (current === undefined) return { kind: 'not_found' };
    return settled(current) ?? { kind: 'in_progress', letter: current };
  }

  let placement: EventPlacement | undefined;
  try {
    [placement] = await deps.publisher.publish([built.event], Date.now() + deps.produceTimeoutMs);
  } catch (error) {
    await deps.store.release(id, token).catch(() => undefined); // stale in staleClaimMs otherwise
    throw error;
  }
  const marked = await deps.store.markReplayed(id, token, {
    by: replayer.by,
    at: now(),
    ...(placement === undefined ? {} : { replayedTo: { partition: placement.partition, offset: placement.offset } }),
  });
  if (marked === undefined) {
    // The claim went stale and was taken over while this produce ran: the other replay marks it.
    const current = (await deps.store.get(id)) ?? claimed;
    return { kind: 'replayed', letter: current, produced: true, event: built.event };
  }
  return { kind: 'replayed', letter: marked, produced: true, event: built.event };
}
