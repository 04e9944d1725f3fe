import { createApiClient } from './api-client';
import { byId } from './dom';
import { createEventDialog } from './event-dialog';
import { createEventsView } from './events-view';
import { keyStore } from './key-store';
import { createLettersView } from './letters-view';
import { Watermark } from './watermark';

/** The viewer page: a key, then events (with the live tail) or dead letters. */
function start(): void {
  const watermark = new Watermark(byId('watermark', HTMLParagraphElement));
  const api = createApiClient({ key: () => keyStore.get(), onCompleteThrough: (value) => watermark.update(value) });
  const dialog = createEventDialog(api);
  const events = createEventsView({ api, watermark, openEvent: (event) => dialog.open(event) });
  const letters = createLettersView(api);

  const keyForm = byId('key-form', HTMLFormElement);
  const keyInput = byId('key-input', HTMLInputElement);
  const keyState = byId('key-state', HTMLSpanElement);
  const forget = byId('forget-key', HTMLButtonElement);
  const showEvents = byId('show-events', HTMLButtonElement);
  const showLetters = byId('show-letters', HTMLButtonElement);
  const eventsView = byId('events-view', HTMLElement);
  const lettersView = byId('letters-view', HTMLElement);

  function showView(which: 'events' | 'letters'): void {
    eventsView.hidden = which !== 'events';
    lettersView.hidden = which !== 'letters';
    showEvents.setAttribute('aria-pressed', String(which === 'events'));
    showLetters.setAttribute('aria-pressed', String(which === 'letters'));
    if (which === 'letters' && keyStore.get() !== undefined) letters.refresh();
  }

  function useKey(): void {
    const key = keyStore.get();
    if (key === undefined) {
      keyState.textContent = 'No key yet: paste a key with the read scope.';
      events.clear();
      letters.clear();
      return;
    }
    // Never shown back in full: the page may be on a shared screen.
    keyState.textContent = `Using key ${key.slice(0, 8)}… (kept for this tab only)`;
    keyInput.value = '';
    events.refresh();
    if (!lettersView.hidden) letters.refresh();
  }

  keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (key === '') return;
    keyStore.set(key);
    useKey();
  });
  forget.addEventListener('click', () => {
    keyStore.clear();
    useKey();
  });
  showEvents.addEventListener('click', () => showView('events'));
  showLetters.addEventListener('click', () => showView('letters'));

  useKey();
}

start();
