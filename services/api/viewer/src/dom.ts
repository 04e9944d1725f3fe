/** Finds an element the page must have, typed; a missing one is a bug in index.html. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`viewer: #${id} is missing or not a ${type.name}`);
  return element;
}

/**
 * Builds an element whose text is set as text, never parsed as HTML: everything shown comes from
 * events, which anyone with an ingest key can write.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { text?: string; className?: string; title?: string; attrs?: Record<string, string> } = {},
  children: readonly (Node | string)[] = [],
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.text !== undefined) element.textContent = props.text;
  if (props.className !== undefined) element.className = props.className;
  if (props.title !== undefined) element.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** A definition list's rows, skipping absent values. */
export function facts(list: HTMLDListElement, rows: readonly [string, string | Node | undefined][]): void {
  list.replaceChildren();
  for (const [term, value] of rows) {
    if (value === undefined) continue;
    list.append(el('dt', { text: term }), el('dd', {}, [value]));
  }
}

export function setMessage(target: HTMLElement, text: string, kind: 'info' | 'error' = 'info'): void {
  target.textContent = text;
  target.dataset.kind = kind;
}

/** Local time, to the second; the exact instant stays in the tooltip. */
export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function timeCell(iso: string): HTMLTableCellElement {
  return el('td', { className: 'time' }, [el('time', { text: formatTime(iso), attrs: { datetime: iso }, title: iso })]);
}
