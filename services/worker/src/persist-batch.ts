import {
  HEADERS,
  storeKey,
  wireEventSchema,
  type ActivityEvent,
  type Logger,
  type Placement,
} from '@activity-logger/shared';
import { headerText, type ConsumedMessage } from './consumed-message';
import { letterOwner, type DeadLetterStore } from './dead-letter-store';
import type { DeadLetter, DeadLetterPublisher, DeadLetterReason } from './dead-letters';
import { isErased, type ErasureGuard } from './erasure-guard';
import type { EventWriter } from './event-writer';
import type { WorkerMetrics } from './metrics';

/** What became of one consumed message. Every message of a handled batch gets exactly one. */
export type MessageOutcome =
  | { readonly offset: string; readonly kind: 'stored'; readonly receivedAt: Date }
  | { readonly offset: string; readonly kind: 'duplicate'; readonly receivedAt: Date }
  /** Its user was erased after the event was received: not stored (or removed right after). */
  | { readonly offset: string; readonly kind: 'erased' }
  | { readonly offset: string; readonly kind: 'dlq'; readonly reason: DeadLetterReason };

export interface PersistDeps {
  readonly writer: EventWriter;
  readonly deadLetters: DeadLetterPublisher;
  /** The store's copy of the dead letters, written before the batch may be committed. */
  readonly letterStore: DeadLetterStore;
  readonly erasures: ErasureGuard;
  readonly logger: Logger;
  readonly metrics: WorkerMetrics;
  readonly now?: () => Date;
}

type Decoded =
  | { readonly ok: true; readonly message: ConsumedMessage; readonly event: ActivityEvent }
  | {
      readonly ok: false;
      readonly message: ConsumedMessage;
      readonly reason: DeadLetterReason;
      readonly detail: string;
    };

type Valid = Extract<Decoded, { ok: true }>;

/**
 * Turns one batch of Kafka messages into stored events and dead letters:
 * decode each message, leave out the events of erased users, write every other valid event with
 * one unordered bulk write, and publish the poison ones to the DLQ topic and the store. Resolves
 * only when the store and the DLQ acknowledged, so the caller may then commit the batch's offsets
 * (this function commits nothing). Throws a retriable error when either was unavailable; calling
 * it again with the same messages is safe.
 */
export async function persistBatch(messages: readonly ConsumedMessage[], deps: PersistDeps): Promise<MessageOutcome[]> {
  const { writer, erasures, logger, metrics } = deps;
  const now = deps.now ?? (() => new Date());
  const decoded = messages.map(decodeMessage);
  const valid = decoded.filter((entry): entry is Valid => entry.ok);

  // Erasures are looked at twice, around the write. An erasure is recorded before its delete
  // runs, so either it is recorded before the second look (which sees it and removes what this
  // batch wrote), or the second look came first, hence the write too, and the erasure's own
  // delete, which starts after that, finds and deletes what was written. Either way no event it
  // covers stays stored, however the two interleave.
  const userIds = [...new Set(valid.map((entry) => entry.event.userId))];
  const erasedBefore = await erasures.latestErasures(userIds);
  const skipped = new Set<Valid>();
  const removed = new Set<Valid>();
  const toWrite: Valid[] = [];
  for (const entry of valid) {
    if (isErased(erasedBefore, entry.event.userId, entry.event.receivedAt)) skipped.add(entry);
    else toWrite.push(entry);
  }

  let results: Awaited<ReturnType<EventWriter['writeBatch']>> = [];
  if (toWrite.length > 0) {
    const storedAt = now();
    const placements: Placement[] = toWrite.map(({ message }) => ({
      partition: message.partition,
      offset: Number(message.offset),
      storedAt,
    }));
    const endTimer = metrics.storeWriteSeconds.startTimer();
    try {
      results = await writer.writeBatch(
        toWrite.map((entry) => entry.event),
        placements,
      );
    } finally {
      endTimer();
    }
    const erasedAfter = await erasures.latestErasures(userIds);
    const slipped = toWrite.filter(
      (entry, index) =>
        results[index]?.kind !== 'rejected' && isErased(erasedAfter, entry.event.userId, entry.event.receivedAt),
    );
    if (slipped.length > 0) {
      await erasures.removeStored(
        slipped.map(({ event }) => ({
          key: storeKey(event.source, event.eventId),
          userId: event.userId,
          erasedAt: erasedAfter.get(event.userId) as Date,
        })),
      );
      for (const entry of slipped) removed.add(entry);
    }
  }

  const outcomes: MessageOutcome[] = [];
  const letters: DeadLetter[] = [];
  const traceIds = new Map<DeadLetter, string | undefined>();
  let writtenIndex = 0;
  for (const entry of decoded) {
    const { offset } = entry.message;
    if (!entry.ok) {
      const letter = { message: entry.message, reason: entry.reason, detail: entry.detail };
      letters.push(letter);
      traceIds.set(letter, headerText(entry.message.headers, HEADERS.traceId));
      outcomes.push({ offset, kind: 'dlq', reason: entry.reason });
      continue;
    }
    if (skipped.has(entry)) {
      outcomes.push({ offset, kind: 'erased' });
      continue;
    }
    const result = results[writtenIndex];
    writtenIndex += 1;
    if (result === undefined) throw new Error(`the writer returned no result for offset ${offset}`);
    if (result.kind === 'rejected') {
      const letter: DeadLetter = {
        message: entry.message,
        reason: 'store_rejected',
        detail: `code ${result.code}: ${result.message}`,
      };
      letters.push(letter);
      traceIds.set(letter, entry.event.traceId);
      outcomes.push({ offset, kind: 'dlq', reason: 'store_rejected' });
    } else if (removed.has(entry)) {
      outcomes.push({ offset, kind: 'erased' });
    } else {
      outcomes.push({ offset, kind: result.kind, receivedAt: entry.event.receivedAt });
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          { traceId: entry.event.traceId, eventId: entry.event.eventId, partition: entry.message.partition, offset },
          result.kind === 'stored' ? 'event stored' : 'event already stored (redelivery)',
        );
      }
    }
  }

  // Both copies before the commit: a letter only on the topic would be invisible to receipts.
  const failedAt = now();
  await recordLetters(letters, failedAt, deps);
  for (const letter of letters) {
    logger.warn(
      {
        traceId: traceIds.get(letter),
        reason: letter.reason,
        detail: letter.detail,
        topic: letter.message.topic,
        partition: letter.message.partition,
        offset: letter.message.offset,
      },
      'message dead-lettered',
    );
  }

  const counts = countOutcomes(outcomes);
  metrics.messagesConsumed.inc(messages.length);
  metrics.batchSize.observe(messages.length);
  metrics.eventsStored.inc(counts.stored);
  metrics.eventsDuplicate.inc(counts.duplicate);
  metrics.eventsErased.inc(counts.erased);
  for (const letter of letters) metrics.eventsDeadLettered.inc({ reason: letter.reason });
  const first = messages[0];
  logger.info(
    {
      ...batchTraceIds(valid.map((entry) => entry.event.traceId)),
      topic: first?.topic,
      partition: first?.partition,
      firstOffset: first?.offset,
      lastOffset: messages[messages.length - 1]?.offset,
      ...counts,
    },
    'batch persisted',
  );
  return outcomes;
}

/**
 * A letter holds its user's data as much as a stored event does, so erasures cover letters too,
 * looked at around the write as for events: one of an erased user (received before the erasure;
 * without a readable receivedAt, failing after it) is stored emptied and discarded, and one whose
 * user is erased while it is written is emptied just after. The DLQ topic still gets the letter
 * as it was; its retention removes it.
 */
async function recordLetters(letters: readonly DeadLetter[], failedAt: Date, deps: PersistDeps): Promise<void> {
  const { deadLetters, letterStore, erasures } = deps;
  const owners = new Map(letters.map((letter) => [letter, letterOwner(letter)]));
  const userIds = [...new Set([...owners.values()].flatMap((owner) => owner.userId ?? []))];
  const coveredBy = (erased: ReadonlyMap<string, Date>) =>
    new Set(
      letters.filter((letter) => {
        const { userId, receivedAt } = owners.get(letter) ?? {};
        return userId !== undefined && isErased(erased, userId, receivedAt ?? failedAt);
      }),
    );
  const erasedBefore = userIds.length === 0 ? new Set<DeadLetter>() : coveredBy(await erasures.latestErasures(userIds));
  await Promise.all([deadLetters.publish(letters), letterStore.record(letters, failedAt, erasedBefore)]);
  if (userIds.length === 0) return;
  const late = [...coveredBy(await erasures.latestErasures(userIds))].filter((letter) => !erasedBefore.has(letter));
  await letterStore.emptyErased(late, failedAt);
}

const MAX_LOGGED_TRACE_IDS = 50;

/**
 * The distinct traceIds of a batch for its info line, so an event's trace can be followed into
 * the worker at the default log level (events of one request share a traceId, so there are few).
 */
function batchTraceIds(traceIds: readonly string[]): { traceIds: string[]; traceIdsOmitted?: number } {
  const distinct = [...new Set(traceIds)];
  if (distinct.length <= MAX_LOGGED_TRACE_IDS) return { traceIds: distinct };
  return { traceIds: distinct.slice(0, MAX_LOGGED_TRACE_IDS), traceIdsOmitted: distinct.length - MAX_LOGGED_TRACE_IDS };
}

export function countOutcomes(outcomes: readonly MessageOutcome[]): {
  stored: number;
  duplicate: number;
  erased: number;
  deadLettered: number;
} {
  const counts = { stored: 0, duplicate: 0, erased: 0, deadLettered: 0 };
  for (const outcome of outcomes) {
    if (outcome.kind === 'dlq') counts.deadLettered += 1;
    else counts[outcome.kind] += 1;
  }
  return counts;
}

export function decodeMessage(message: ConsumedMessage): Decoded {
  if (message.value === null) {
    return { ok: false, message, reason: 'unparseable', detail: 'the message has no value (tombstone)' };
  }
  let json: unknown;
  try {
    json = JSON.parse(message.value.toString('utf8'));
  } catch (error) {
    return { ok: false, message, reason: 'unparseable', detail: `not JSON: ${(error as Error).message}` };
  }
  const parsed = wireEventSchema.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    return { ok: false, message, reason: 'schema_invalid', detail };
  }
  return { ok: true, message, event: parsed.data };
}
