/** What the filter form holds, as the user typed it. */
export interface EventFilters {
  readonly userId: string;
  readonly action: string;
  /** `<input type="datetime-local">` values: local time, no zone. */
  readonly from: string;
  readonly to: string;
  readonly limit: string;
}

/** A local date-time from the form as the instant the API takes (ISO 8601 with a zone). */
export function localToIso(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The filters as GET /api/logs (and the stream) take them; empty fields are left out. */
export function filterQuery(filters: EventFilters): URLSearchParams {
  const query = new URLSearchParams();
  const userId = filters.userId.trim();
  const action = filters.action.trim();
  if (userId !== '') query.set('userId', userId);
  if (action !== '') query.set('action', action);
  const from = localToIso(filters.from);
  const to = localToIso(filters.to);
  if (from !== undefined) query.set('from', from);
  if (to !== undefined) query.set('to', to);
  return query;
}

/** One page of a list: the filters, the page size and the cursor of the page before. */
export function pageQuery(filters: URLSearchParams, limit: string, cursor: string | undefined): URLSearchParams {
  const query = new URLSearchParams(filters);
  query.set('limit', limit);
  if (cursor !== undefined) query.set('cursor', cursor);
  return query;
}

/**
 * Cursor paging forwards, with a way back: the API's cursors only go on, so the pager keeps the
 * cursor that opened each page it has shown.
 */
export class CursorPager {
  /** cursors[i] opened page i + 1; page 1 has none. */
  private cursors: (string | undefined)[] = [undefined];
  private next: string | null = null;

  get page(): number {
    return this.cursors.length;
  }
  get current(): string | undefined {
    return this.cursors[this.cursors.length - 1];
  }
  get hasNext(): boolean {
    return this.next !== null;
  }
  get hasPrevious(): boolean {
    return this.cursors.length > 1;
  }

  /** What the page just shown said comes after it. */
  shown(nextCursor: string | null): void {
    this.next = nextCursor;
  }
  forward(): void {
    if (this.next !== null) this.cursors.push(this.next);
  }
  back(): void {
    if (this.cursors.length > 1) this.cursors.pop();
  }
  reset(): void {
    this.cursors = [undefined];
    this.next = null;
  }
}
