import { setTimeout as sleep } from 'node:timers/promises';
import { toStoredEvent } from '@activity-logger/shared';
import { encodePosition } from './position';
import type { EventFilters } from '../query/log-reader';
import type { TailSource } from './tail-source';

export interface TailSettings {
  /** How often the worker's progress is looked at for newly committed offsets. */
  readonly pollMs: number;
  /** A `:` comment at least this often, so proxies and clients see a live connection. */
  readonly heartbeatMs: number;
  /** Events read per store query. */
  readonly batch: number;
}

/** Offsets one store query covers, in batches: at most 10 × batch documents are scanned per query. */
const WINDOW_PER_BATCH = 10;

/** Where the tail writes: resolves once more may be written (the client took what it was sent). */
export type TailSink = (chunk: string) => Promise<void>;

/** One SSE message; every field's value is one line (JSON has no raw newline). */
export function sseMessage(fields: { id?: string; event: string; data: unknown }): string {
  return `${fields.id === undefined ? '' : `id: ${fields.id}\n`}event: ${fields.event}\ndata: ${JSON.stringify(fields.data)}\n\n`;
}

/**
 * Delivers what the worker has committed, partition by partition in offset order: for each
 * partition the offsets from the position up to its committed offset (everything below that is
 * stored, dead-lettered or erased, so nothing is skipped by an unordered bulk write still in
 * progress). Every event's `id` is the position just after it; a watermark carries the position
 * too, so a filtered tail that matched nothing for a while still resumes near where it was.
 * Runs until `signal` aborts (the client left, or the API is shutting down).
 */
export async function runLiveTail(args: {
  source: TailSource;
  filters: EventFilters;
  start: ReadonlyMap<number, number>;
  settings: TailSettings;
  signal: AbortSignal;
  sink: TailSink;
  onStoreError: (error: unknown) => void;
}): Promise<void> {
  const { source, filters, settings, signal, sink } = args;
  const next = new Map(args.start);
  let lastMark: string | null | undefined;
  let lastHeartbeat = Date.now();

  while (!signal.aborted) {
    try {
      const snapshot = await source.progress(signal);
      const partitions = [...snapshot.committed.entries()].sort(([a], [b]) => a - b);
      for (const [partition, committed] of partitions) {
        // A partition the position does not name was unknown when it was taken: all of it is new.
        let from = next.get(partition) ?? 0;
        while (from < committed && !signal.aborted) {
          // A window of offsets per query, so a filter that matches little (or `from` on a large
          // log) scans a bounded range each time instead of running into the query time limit.
          const below = Math.min(committed, from + settings.batch * WINDOW_PER_BATCH);
          const docs = await source.read(partition, { from, below }, filters, settings.batch, signal);
          for (const doc of docs) {
            next.set(partition, Number(doc.offset) + 1);
            await sink(sseMessage({ id: encodePosition(next), event: 'log', data: toStoredEvent(doc) }));
          }
          // A short answer means the rest of the window matched nothing.
          if (docs.length < settings.batch) next.set(partition, below);
          from = next.get(partition) ?? below;
        }
      }
      const mark = snapshot.completeThrough?.toISOString() ?? null;
      const heartbeatDue = Date.now() - lastHeartbeat >= settings.heartbeatMs;
      if (mark !== lastMark || heartbeatDue) {
        lastMark = mark;
        await sink(sseMessage({ id: encodePosition(next), event: 'watermark', data: { completeThrough: mark } }));
      }
    } catch (error) {
      if (signal.aborted) break;
      args.onStoreError(error);
      await sink(': the store is not answering; retrying\n\n').catch(() => undefined);
    }
    if (Date.now() - lastHeartbeat >= settings.heartbeatMs) {
      lastHeartbeat = Date.now();
      await sink(': heartbeat\n\n').catch(() => undefined);
    }
    await sleep(settings.pollMs, undefined, { signal }).catch(() => undefined);
  }
}
