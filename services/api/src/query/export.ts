import { Router } from 'express';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import type { Logger, StoredEvent } from '@activity-logger/shared';
import { callerOf, requireScope } from '../auth/authenticate';
import { clientGone } from '../http/client-gone';
import { issueDetails, validationFailed } from '../http/errors';
import type { RateLimits } from '../http/rate-limits';
import type { OpenStreams } from '../tail/open-streams';
import type { LogExporter } from './log-exporter';
import { listQuerySchema } from './routes';
import { unavailable } from './unavailable';
import { writeWithBackpressure } from './stream';

const fields = listQuerySchema.shape;

export const exportQuerySchema = z
  .strictObject({
    format: z.enum(['ndjson', 'csv']).default('ndjson'),
    userId: fields.userId,
    action: fields.action,
    source: fields.source,
    from: fields.from,
    to: fields.to,
    order: z
      .enum(['asc', 'desc'])
      .default('asc')
      .meta({ description: 'by (timestamp, source/eventId); oldest first by default' }),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    message: '"from" must not be after "to"',
    path: ['from'],
  });

export const CSV_COLUMNS = [
  'eventId',
  'source',
  'userId',
  'action',
  'timestamp',
  'receivedAt',
  'storedAt',
  'traceId',
  'metadata',
] as const;

/**
 * CSV rows with a header row, quoted where needed (RFC 4180), metadata as one JSON cell, and
 * cells a spreadsheet would run as a formula (starting with = + - @, tab or CR) prefixed with `'`
 * as OWASP advises against CSV injection — csv-stringify's `escape_formulas`.
 */
export function csvRows(events: readonly StoredEvent[], withHeader: boolean): string {
  return stringify(
    events.map((event) => ({
      ...event,
      metadata: event.metadata === undefined ? '' : JSON.stringify(event.metadata),
    })),
    {
      ...{ header: withHeader, columns: [...CSV_COLUMNS], escape_formulas: true, record_delimiter: 'windows' },
      // A bare LF or CR ends a row in most readers, but csv-stringify quotes only the record
      // delimiter itself: unquoted, the rest of the cell would start a new row, formula and all.
      quoted_match: /[\r\n]/,
    },
  );
}

export function ndjsonRows(events: readonly StoredEvent[]): string {
  return events.map((event) => `${JSON.stringify(event)}\n`).join('');
}

export function exportRoutes(deps: {
  exporter: LogExporter;
  streams: OpenStreams;
  rateLimits: RateLimits;
  logger: Logger;
}): Router {
  const router = Router();

  /**
   * Everything a query matches, no page limit, written as fast as the client reads it: each batch
   * waits for the previous one to drain. A failure after the first byte cuts the connection, so
   * a client never mistakes a partial export for a complete one.
   */
  router.get('/api/logs/export', requireScope('read'), deps.rateLimits.read, async (req, res) => {
    const parsed = exportQuerySchema.safeParse(req.query);
    if (!parsed.success) throw validationFailed(issueDetails(parsed.error.issues));
    const { format, ...query } = parsed.data;
    const slot = deps.streams.open(callerOf(res).name);
    const signal = AbortSignal.any([clientGone(res), slot.signal]);
    let batches: AsyncIterator<StoredEvent[]> | undefined;
    let exported = 0;
    try {
      batches = deps.exporter.batches(query, signal)[Symbol.asyncIterator]();
      // The first batch before the status line: a store that is away is still a plain 503.
      let result = await batches.next().catch((error: unknown) => {
        throw unavailable(error);
      });
      res.writeHead(200, {
        'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        'Content-Disposition': `attachment; filename="activity-logs.${format}"`,
        'Cache-Control': 'no-store',
      });
      const sink = writeWithBackpressure(res, signal);
      if (format === 'csv') await sink(csvRows([], true));
      while (result.done !== true) {
        await sink(format === 'csv' ? csvRows(result.value, false) : ndjsonRows(result.value));
        exported += result.value.length;
        result = await batches.next();
      }
      res.end();
      deps.logger.info({ traceId: res.locals.traceId, exported, format }, 'export finished');
    } catch (error) {
      if (!res.headersSent) throw error;
      if (!signal.aborted)
        deps.logger.warn({ err: error, traceId: res.locals.traceId, exported }, 'export failed midway');
      res.destroy();
    } finally {
      // The slot goes only once the exporter has stopped, its store read included: a client that
      // leaves does not free room for another scan while the store still works on this one.
      await batches?.return?.().catch(() => undefined);
      slot.release();
    }
  });

  return router;
}
