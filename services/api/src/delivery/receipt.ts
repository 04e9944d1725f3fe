import type { StoredEvent } from '@activity-logger/shared';
import type { LogReader } from '../query/log-reader';
import type { DeliveryStore, LetterSummary } from './delivery-store';
import type { WatermarkReader } from './watermark';

/**
 * What became of an event:
 *   - stored: it is in the store (a replayed dead letter that was stored counts as stored);
 *   - dead_lettered: the worker could not store it (reason and detail; the letter's own state
 *     says whether an admin replayed or discarded it since);
 *   - pending: it is in Kafka and the worker has not reached it (`ahead` events before it);
 *   - removed: the worker is past it but it is neither stored nor dead-lettered: its user was
 *     erased, or retention removed it (the receipt cannot tell which without the user's id);
 *   - unknown: none of these (a wrong id, or no position to tell "pending" from "never sent").
 */
export type ReceiptState = 'stored' | 'dead_lettered' | 'pending' | 'removed' | 'unknown';

export interface Receipt {
  readonly eventId: string;
  readonly source?: string;
  readonly state: ReceiptState;
  readonly storedAt?: string;
  readonly deadLetter?: { id: string; reason: string; detail: string; failedAt: string; state: string };
  readonly pending?: { partition: number; offset: number; ahead: number };
  readonly completeThrough: string | null;
}

export interface ReceiptQuery {
  readonly eventId: string;
  readonly source?: string | undefined;
  readonly at?: { partition: number; offset: number } | undefined;
}

export type ReceiptResult =
  | { readonly ok: true; readonly receipt: Receipt }
  /** Several sources stored an event with this id and no source was named. */
  | { readonly ok: false; readonly sources: string[] };

export interface ReceiptDeps {
  readonly topic: string;
  readonly reader: LogReader;
  readonly store: DeliveryStore;
  readonly watermark: WatermarkReader;
}

export async function receiptOf(query: ReceiptQuery, deps: ReceiptDeps): Promise<ReceiptResult> {
  const { eventId, source, at } = query;
  const watermark = deps.watermark.completeThrough();
  // The partition's progress is read FIRST: the worker stores or dead-letters an event before it
  // commits past it, so if this record is past the event, the reads below see where it went.
  // (Read after them, a commit in between would make a just-stored event look removed.)
  const progress = at === undefined ? null : await deps.store.progressOf(deps.topic, at.partition);
  const found: StoredEvent[] = await deps.reader.findByEventId(eventId, { source, limit: 10 });
  if (found.length > 1) return { ok: false, sources: found.map((event) => event.source ?? '(none)') };
  const through = await watermark;
  const base = {
    eventId,
    ...(source === undefined ? {} : { source }),
    completeThrough: through?.toISOString() ?? null,
  };
  const [event] = found;
  if (event !== undefined) {
    return {
      ok: true,
      receipt: {
        ...base,
        ...(event.source === undefined ? {} : { source: event.source }),
        state: 'stored',
        ...(event.storedAt === undefined ? {} : { storedAt: event.storedAt }),
      },
    };
  }
  const letter = pickLetter(await deps.store.lettersOf(eventId, source));
  if (letter !== undefined) {
    return {
      ok: true,
      receipt: {
        ...base,
        state: 'dead_lettered',
        deadLetter: {
          id: letter._id,
          reason: letter.reason,
          detail: letter.detail,
          failedAt: letter.failedAt.toISOString(),
          state: letter.state,
        },
      },
    };
  }
  if (at !== undefined) {
    const committed = progress?.committedOffset ?? 0;
    if (at.offset >= committed) {
      return { ok: true, receipt: { ...base, state: 'pending', pending: { ...at, ahead: at.offset - committed } } };
    }
    return { ok: true, receipt: { ...base, state: 'removed' } };
  }
  return { ok: true, receipt: { ...base, state: 'unknown' } };
}

/** An open letter first (what needs acting on), else the latest. */
function pickLetter(letters: readonly LetterSummary[]): LetterSummary | undefined {
  return letters.find((letter) => letter.state === 'open') ?? letters[0];
}
