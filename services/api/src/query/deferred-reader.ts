import { HttpError } from '../http/errors';
import type { LogReader } from './log-reader';

export interface DeferredLogReader {
  /** Serves reads once attached; until then every read is a 503 the client may retry. */
  readonly reader: LogReader;
  attach(reader: LogReader): void;
  attached(): boolean;
}

/**
 * The API takes events as soon as Kafka does, whatever the store's state: ingest never needs the
 * store. Queries need it, so until the store is reached (in the background, with retries) they
 * answer 503 STORE_UNAVAILABLE with Retry-After instead of the API refusing to start.
 */
export function deferredLogReader(): DeferredLogReader {
  let current: LogReader | undefined;
  const use = (): LogReader => {
    if (current !== undefined) return current;
    throw new HttpError(503, 'STORE_UNAVAILABLE', 'The event store is not reachable yet; retry later.', {
      retryAfterSeconds: 5,
    });
  };
  return {
    reader: {
      find: (query, options) => use().find(query, options),
      findByEventId: (eventId, filter, options) => use().findByEventId(eventId, filter, options),
      ping: () => use().ping(),
    },
    attach(reader) {
      current = reader;
    },
    attached: () => current !== undefined,
  };
}
