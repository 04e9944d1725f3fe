import type { StoredEvent } from '@activity-logger/shared';
import type { LogPage, LogQuery, LogReader, ReadOptions } from './log-reader';

/**
 * A LogReader for route tests that need no store: it answers from a list, or — with `hang` —
 * never answers until its request is aborted, recording what it saw.
 */
export class FakeLogReader implements LogReader {
  readonly queries: LogQuery[] = [];
  /** Reads started, of either kind. */
  started = 0;
  readonly aborted: unknown[] = [];

  constructor(
    private readonly events: StoredEvent[] = [],
    private readonly options: { hang?: boolean } = {},
  ) {}

  async find(query: LogQuery, options?: ReadOptions): Promise<LogPage> {
    this.queries.push(query);
    this.started += 1;
    if (this.options.hang === true) await this.untilAborted(options?.signal);
    return { events: this.events.slice(0, query.limit), next: undefined };
  }

  async findByEventId(eventId: string, filter: { source?: string | undefined; limit: number }, options?: ReadOptions) {
    this.started += 1;
    if (this.options.hang === true) await this.untilAborted(options?.signal);
    return this.events
      .filter((event) => event.eventId === eventId && (filter.source === undefined || event.source === filter.source))
      .slice(0, filter.limit);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  private untilAborted(signal: AbortSignal | undefined): Promise<never> {
    return new Promise((_resolve, reject) => {
      signal?.addEventListener('abort', () => {
        this.aborted.push(signal.reason);
        reject(signal.reason as Error);
      });
    });
  }
}
