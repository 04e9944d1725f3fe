import { ApiError, describeError, type ApiClient } from './api-client';
import type { DeadLetter, DeadLetterPage, DeadLetterSummary } from './contract';
import { byId, el, facts, formatTime, setMessage, timeCell } from './dom';
import { CursorPager, pageQuery } from './queries';

const PAGE_SIZE = '25';

function letterPath(id: string, action = ''): string {
  return `/api/dead-letters/${encodeURIComponent(id)}${action}`;
}

/** The original value for reading: pretty JSON when it is JSON, else its text, else its base64. */
export function showValue(letter: Pick<DeadLetter, 'value' | 'valueText'>): string {
  if (letter.valueText === undefined) {
    return letter.value === null ? '(no value)' : `(not UTF-8; base64)\n${letter.value}`;
  }
  try {
    return JSON.stringify(JSON.parse(letter.valueText), null, 2);
  } catch {
    return letter.valueText;
  }
}

/** The fields of a client event (as POST /api/logs takes it) that a stored value carries. */
const CLIENT_FIELDS = ['userId', 'action', 'metadata', 'timestamp'] as const;

/**
 * A starting point for a correction: the original's client fields, without what the API adds
 * (v, receivedAt, traceId, source) and the eventId, which a replay keeps anyway.
 */
export function correctionHint(valueText: string | undefined): string {
  if (valueText === undefined) return '{"userId": "…", "action": "…"}';
  try {
    const original = JSON.parse(valueText) as Record<string, unknown>;
    const fields = CLIENT_FIELDS.filter((name) => original[name] !== undefined).map((name) => [name, original[name]]);
    return JSON.stringify(Object.fromEntries(fields), null, 2);
  } catch {
    return '{"userId": "…", "action": "…"}';
  }
}

/**
 * The corrected event to replay with: the textarea's JSON object, or undefined (replay the
 * original) when it is empty. A typo is caught here, before the API's own validation.
 */
export function correctedEvent(text: string): { event?: Record<string, unknown> } | { error: string } {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { error: `The corrected event is not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { error: 'The corrected event must be a JSON object, as POST /api/logs takes it.' };
  }
  return { event: parsed as Record<string, unknown> };
}

/** Dead letters (admin keys): list by state and reason, open one, replay it or discard it. */
export function createLettersView(api: ApiClient) {
  const form = byId('letter-filters', HTMLFormElement);
  const body = byId('letters-body', HTMLTableSectionElement);
  const message = byId('letters-message', HTMLParagraphElement);
  const first = byId('letters-first', HTMLButtonElement);
  const next = byId('letters-next', HTMLButtonElement);
  const pageLabel = byId('letters-page', HTMLSpanElement);
  const dialog = byId('letter-dialog', HTMLDialogElement);
  const title = byId('letter-dialog-title', HTMLHeadingElement);
  const letterFacts = byId('letter-facts', HTMLDListElement);
  const value = byId('letter-value', HTMLPreElement);
  const replayForm = byId('replay-form', HTMLFormElement);
  const corrected = byId('corrected', HTMLTextAreaElement);
  const discardForm = byId('discard-form', HTMLFormElement);
  const discardReason = byId('discard-reason', HTMLInputElement);
  const letterMessage = byId('letter-message', HTMLParagraphElement);

  const pager = new CursorPager();
  let filters = new URLSearchParams({ state: 'open' });
  let shown: DeadLetter | undefined;
  let loading = 0;

  function readForm(): void {
    filters = new URLSearchParams();
    for (const [name, entry] of new FormData(form)) {
      if (typeof entry === 'string' && entry !== '') filters.set(name, entry);
    }
  }

  function row(letter: DeadLetterSummary): HTMLTableRowElement {
    const open = el('button', {
      text: letter.eventId ?? letter.id,
      className: 'link',
      attrs: { type: 'button', 'aria-label': `Open dead letter ${letter.id}` },
    });
    open.addEventListener('click', () => void openLetter(letter.id));
    return el('tr', {}, [
      timeCell(letter.failedAt),
      el('td', { text: letter.reason, className: 'reason' }),
      el('td', { text: letter.detail, className: 'detail' }),
      el('td', {}, [open]),
      el('td', { text: letter.userId ?? '' }),
      el('td', { text: letter.state }),
    ]);
  }

  async function load(): Promise<void> {
    const ticket = ++loading;
    setMessage(message, 'Loading…');
    first.disabled = next.disabled = true;
    try {
      const page = await api.get<DeadLetterPage>('/api/dead-letters', pageQuery(filters, PAGE_SIZE, pager.current));
      if (ticket !== loading) return;
      pager.shown(page.nextCursor);
      body.replaceChildren(...page.data.map(row));
      setMessage(message, page.data.length === 0 ? 'No dead letters match.' : '');
    } catch (error) {
      if (ticket !== loading) return;
      body.replaceChildren();
      const text =
        error instanceof ApiError && error.status === 403
          ? 'Dead letters need a key with the admin scope.'
          : describeError(error);
      setMessage(message, text, 'error');
    }
    pageLabel.textContent = `Page ${pager.page}`;
    first.disabled = !pager.hasPrevious;
    next.disabled = !pager.hasNext;
  }

  function showLetter(letter: DeadLetter): void {
    shown = letter;
    title.textContent = `Dead letter ${letter.id}`;
    facts(letterFacts, [
      ['State', letter.state],
      ['Reason', letter.reason],
      ['Detail', letter.detail],
      ['Failed at', formatTime(letter.failedAt)],
      ['Event id', letter.eventId],
      ['Source', letter.source],
      ['User', letter.userId],
      ['Trace id', letter.traceId],
      [
        'Resolution',
        letter.resolution === undefined
          ? undefined
          : `${letter.state} by ${letter.resolution.by} at ${formatTime(letter.resolution.at)}${
              letter.resolution.reason === undefined ? '' : ` (${letter.resolution.reason})`
            }`,
      ],
    ]);
    value.textContent = showValue(letter);
    const open = letter.state === 'open';
    for (const control of [...replayForm.elements, ...discardForm.elements]) {
      (control as HTMLButtonElement | HTMLInputElement | HTMLTextAreaElement).disabled = !open;
    }
  }

  async function openLetter(id: string): Promise<void> {
    setMessage(letterMessage, '');
    corrected.value = '';
    discardReason.value = '';
    try {
      const letter = await api.get<DeadLetter>(letterPath(id));
      showLetter(letter);
      // A hint, not a value: nothing is sent as a correction unless the user writes one.
      corrected.placeholder = correctionHint(letter.valueText);
      if (!dialog.open) dialog.showModal();
    } catch (error) {
      setMessage(message, describeError(error), 'error');
    }
  }

  async function act(what: string, run: () => Promise<unknown>): Promise<void> {
    const letter = shown;
    if (letter === undefined) return;
    setMessage(letterMessage, `${what}…`);
    try {
      await run();
      setMessage(letterMessage, `${what}: done.`);
      showLetter(await api.get<DeadLetter>(letterPath(letter.id)));
      void load();
    } catch (error) {
      setMessage(letterMessage, describeError(error), 'error');
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    readForm();
    pager.reset();
    void load();
  });
  next.addEventListener('click', () => {
    pager.forward();
    void load();
  });
  first.addEventListener('click', () => {
    pager.reset();
    void load();
  });
  replayForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const letter = shown;
    if (letter === undefined) return;
    const mode = (event.submitter as HTMLButtonElement | null)?.value ?? 'original';
    if (mode === 'original') {
      void act('Replaying as it was', () => api.post(letterPath(letter.id, '/replay'), {}));
      return;
    }
    const body = correctedEvent(corrected.value);
    if ('error' in body) {
      setMessage(letterMessage, body.error, 'error');
      return;
    }
    if (body.event === undefined) {
      setMessage(letterMessage, 'Write the corrected event first, or replay it as it was.', 'error');
      return;
    }
    void act('Replaying the corrected event', () => api.post(letterPath(letter.id, '/replay'), body));
  });
  discardForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const letter = shown;
    if (letter === undefined) return;
    const reason = discardReason.value.trim();
    void act('Discarding', () => api.post(letterPath(letter.id, '/discard'), { reason }));
  });

  return {
    refresh(): void {
      readForm();
      pager.reset();
      void load();
    },
    clear(): void {
      body.replaceChildren();
      setMessage(message, '');
    },
  };
}
