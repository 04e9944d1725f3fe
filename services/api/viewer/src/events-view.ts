import { describeError, type ApiClient } from './api-client';
import type { EventPage, StoredEvent } from './contract';
import { byId, el, setMessage, timeCell } from './dom';
import { startLiveTail, type LiveTail, type TailState } from './live-tail';
import { CursorPager, filterQuery, pageQuery, type EventFilters } from './queries';
import type { Watermark } from './watermark';

/** How long before its 202 an event may have been received: the API's default PRODUCE_TIMEOUT_MS. */
const ACCEPT_WINDOW_MS = 5_000;

/** How many live events the tail list keeps; older ones scroll away. */
const TAIL_KEEP = 200;

export interface EventsViewDeps {
  readonly api: ApiClient;
  readonly watermark: Watermark;
  readonly openEvent: (event: StoredEvent) => void;
}

function eventButton(event: StoredEvent, open: (event: StoredEvent) => void): HTMLButtonElement {
  const button = el('button', {
    text: event.eventId,
    className: 'link',
    attrs: { type: 'button', 'aria-label': `Open event ${event.eventId} and its receipt` },
  });
  button.addEventListener('click', () => open(event));
  return button;
}

/**
 * Metadata as `key: value` pairs (strings bare, the rest as JSON), cut to fit a table cell; the
 * whole of it is in the event dialog.
 */
export function metadataSummary(metadata: Record<string, unknown> | undefined, max = 80): string {
  if (metadata === undefined) return '';
  const text = Object.entries(metadata)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function tailStateText(state: TailState): string {
  switch (state.kind) {
    case 'connecting':
      return state.resuming ? 'reconnecting from the last event seen…' : 'connecting…';
    case 'live':
      return 'live';
    case 'waiting':
      return `disconnected (${state.reason}); retrying in ${Math.round(state.retryInMs / 1000)} s`;
    case 'failed':
      return `stopped: ${state.error.describe()}`;
    case 'stopped':
      return 'off';
  }
}

/** The events list: filters, a page of results, paging, and the live tail above them. */
export function createEventsView({ api, watermark, openEvent }: EventsViewDeps) {
  const form = byId('filters', HTMLFormElement);
  const body = byId('events-body', HTMLTableSectionElement);
  const caption = byId('events-caption', HTMLTableCaptionElement);
  const message = byId('events-message', HTMLParagraphElement);
  const first = byId('events-first', HTMLButtonElement);
  const previous = byId('events-previous', HTMLButtonElement);
  const next = byId('events-next', HTMLButtonElement);
  const pageLabel = byId('events-page', HTMLSpanElement);
  const tailToggle = byId('tail-toggle', HTMLInputElement);
  const tailState = byId('tail-state', HTMLSpanElement);
  const tailSection = byId('tail-section', HTMLElement);
  const tailList = byId('tail-list', HTMLOListElement);

  const pager = new CursorPager();
  let filters = new URLSearchParams();
  let limit = '25';
  let loading = 0;
  let tail: LiveTail | undefined;
  /** Which tail is current: a stopped one may still report its last state or event. */
  let tailGeneration = 0;

  function readForm(): void {
    const data = new FormData(form);
    const value = (name: keyof EventFilters) => {
      const entry = data.get(name);
      return typeof entry === 'string' ? entry : '';
    };
    const typed: EventFilters = {
      userId: value('userId'),
      action: value('action'),
      from: value('from'),
      to: value('to'),
      limit: value('limit'),
    };
    filters = filterQuery(typed);
    limit = typed.limit || '25';
  }

  function row(event: StoredEvent): HTMLTableRowElement {
    return el('tr', {}, [
      timeCell(event.timestamp),
      el('td', { text: event.userId }),
      el('td', { text: event.action }),
      el('td', { text: metadataSummary(event.metadata), className: 'detail metadata' }),
      el('td', { className: 'event-id' }, [eventButton(event, openEvent)]),
      el('td', { text: event.source ?? '', className: 'source' }),
    ]);
  }

  async function load(): Promise<void> {
    const ticket = ++loading;
    setMessage(message, 'Loading…');
    first.disabled = previous.disabled = next.disabled = true;
    try {
      const page = await api.get<EventPage>('/api/logs', pageQuery(filters, limit, pager.current));
      if (ticket !== loading) return;
      pager.shown(page.nextCursor);
      body.replaceChildren(...page.data.map(row));
      const what = filters.toString() === '' ? 'all events' : 'matching events';
      caption.textContent = `Events: ${what}, newest first (${page.data.length} on this page)`;
      setMessage(message, emptyPageText(page));
    } catch (error) {
      if (ticket !== loading) return;
      body.replaceChildren();
      setMessage(message, describeError(error), 'error');
    }
    pageLabel.textContent = `Page ${pager.page}`;
    first.disabled = previous.disabled = !pager.hasPrevious;
    next.disabled = !pager.hasNext;
  }

  /**
   * An empty answer is "nothing yet" unless this answer's own watermark (read before its page)
   * covers the range. The watermark is about when events were accepted, and `from`/`to` are on
   * their timestamps: the claim holds for events stamped when received, which are received up to
   * the produce time limit before their 202, and never for events sent with a past timestamp.
   */
  function emptyPageText(page: EventPage): string {
    if (page.data.length > 0) return '';
    const to = filters.get('to');
    const through = page.completeThrough;
    if (to !== null && typeof through === 'string' && Date.parse(to) <= Date.parse(through) - ACCEPT_WINDOW_MS) {
      return 'No events match: everything accepted in this range is stored (events sent with an older timestamp of their own may still arrive).';
    }
    return 'No events match yet. Events accepted after the freshness watermark may still be on their way.';
  }

  function stopTail(): void {
    tailGeneration += 1;
    tail?.stop();
    tail = undefined;
  }

  function startTail(): void {
    stopTail();
    tailSection.hidden = false;
    const query = new URLSearchParams(filters);
    const generation = ++tailGeneration;
    const current = () => generation === tailGeneration;
    tail = startLiveTail({
      open: (lastEventId, signal) =>
        api.open('/api/logs/stream', query, lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId }, signal),
      onLog: (event) => {
        if (!current()) return;
        const item = el('li', {}, [
          el('time', { text: new Date(event.timestamp).toLocaleTimeString(), attrs: { datetime: event.timestamp } }),
          ` ${event.userId} · ${event.action} · `,
          eventButton(event, openEvent),
        ]);
        tailList.prepend(item);
        while (tailList.children.length > TAIL_KEEP) tailList.lastElementChild?.remove();
      },
      onWatermark: (value) => watermark.update(value),
      onState: (state) => {
        if (!current()) return;
        tailState.textContent = tailStateText(state);
        if (state.kind === 'failed') tailToggle.checked = false;
      },
    });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    readForm();
    pager.reset();
    void load();
    // The tail follows the filters: a new search restarts it with them.
    if (tailToggle.checked) {
      tailList.replaceChildren();
      startTail();
    }
  });
  form.addEventListener('reset', () => {
    // After the browser has cleared the fields.
    setTimeout(() => form.requestSubmit(), 0);
  });
  next.addEventListener('click', () => {
    pager.forward();
    void load();
  });
  previous.addEventListener('click', () => {
    pager.back();
    void load();
  });
  first.addEventListener('click', () => {
    pager.reset();
    void load();
  });
  tailToggle.addEventListener('change', () => {
    if (tailToggle.checked) startTail();
    else {
      stopTail();
      tailState.textContent = 'off';
    }
  });

  return {
    /** A new key: the first page again, and the tail reconnected with it. */
    refresh(): void {
      readForm();
      pager.reset();
      void load();
      if (tailToggle.checked) startTail();
    },
    clear(): void {
      stopTail();
      tailToggle.checked = false;
      tailState.textContent = 'off';
      body.replaceChildren();
      tailList.replaceChildren();
      setMessage(message, '');
    },
  };
}
