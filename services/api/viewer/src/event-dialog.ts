import { describeError, type ApiClient } from './api-client';
import type { Receipt, StoredEvent } from './contract';
import { byId, el, facts, formatTime } from './dom';

const STATE_WORDS: Record<Receipt['state'], string> = {
  stored: 'stored',
  dead_lettered: 'dead-lettered',
  pending: 'pending (in Kafka, not stored yet)',
  removed: 'removed (its user was erased, or retention expired it)',
  unknown: 'unknown',
};

function eventPath(eventId: string, suffix = ''): string {
  return `/api/logs/${encodeURIComponent(eventId)}${suffix}`;
}

function sourceQuery(source: string | undefined): URLSearchParams {
  return new URLSearchParams(source === undefined ? {} : { source });
}

function receiptRows(receipt: Receipt): [string, string | Node | undefined][] {
  return [
    ['State', el('span', { text: STATE_WORDS[receipt.state] ?? receipt.state, className: `state-${receipt.state}` })],
    ['Stored at', receipt.storedAt === undefined ? undefined : formatTime(receipt.storedAt)],
    ['Dead letter', receipt.deadLetter === undefined ? undefined : receipt.deadLetter.id],
    ['Reason', receipt.deadLetter?.reason],
    ['Detail', receipt.deadLetter?.detail],
    ['Failed at', receipt.deadLetter === undefined ? undefined : formatTime(receipt.deadLetter.failedAt)],
    ['Letter state', receipt.deadLetter?.state],
    [
      'Position',
      receipt.pending === undefined
        ? undefined
        : `partition ${receipt.pending.partition}, offset ${receipt.pending.offset}, ${receipt.pending.ahead} ahead of it`,
    ],
    [
      'Complete through',
      receipt.completeThrough === undefined || receipt.completeThrough === null
        ? undefined
        : formatTime(receipt.completeThrough),
    ],
  ];
}

/** The event dialog: an event as stored and its delivery receipt, each asked for separately. */
export function createEventDialog(api: ApiClient): { open(event: Pick<StoredEvent, 'eventId' | 'source'>): void } {
  const dialog = byId('event-dialog', HTMLDialogElement);
  const title = byId('event-dialog-title', HTMLHeadingElement);
  const receiptList = byId('receipt', HTMLDListElement);
  const json = byId('event-json', HTMLPreElement);
  let showing = 0;

  async function load(eventId: string, source: string | undefined, ticket: number): Promise<void> {
    const [receipt, stored] = await Promise.allSettled([
      api.get<Receipt>(eventPath(eventId, '/status'), sourceQuery(source)),
      api.get<StoredEvent>(eventPath(eventId), sourceQuery(source)),
    ]);
    if (ticket !== showing) return; // another event was opened meanwhile
    if (receipt.status === 'fulfilled') facts(receiptList, receiptRows(receipt.value));
    else facts(receiptList, [['Receipt', describeError(receipt.reason)]]);
    if (stored.status === 'fulfilled') json.textContent = JSON.stringify(stored.value, null, 2);
    else json.textContent = describeError(stored.reason);
  }

  return {
    open(event) {
      showing += 1;
      title.textContent = `Event ${event.eventId}`;
      facts(receiptList, [['State', 'asking…']]);
      json.textContent = '';
      if (!dialog.open) dialog.showModal();
      void load(event.eventId, event.source, showing);
    },
  };
}
