import { once } from 'node:events';
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '@activity-logger/shared';
import { callerOf, requireScope } from '../auth/authenticate';
import { clientGone } from '../http/client-gone';
import { issueDetails, validationFailed } from '../http/errors';
import type { RateLimits } from '../http/rate-limits';
import { runLiveTail, sseMessage, type TailSettings } from '../tail/live-tail';
import type { OpenStreams } from '../tail/open-streams';
import { decodePosition, encodePosition } from '../tail/position';
import type { TailSource } from '../tail/tail-source';
import { listQuerySchema } from './routes';
import { unavailable } from './unavailable';

const fields = listQuerySchema.shape;

/** GET /api/logs's filters (no paging: a tail has no pages), and where to resume. */
export const streamQuerySchema = z
  .strictObject({
    userId: fields.userId,
    action: fields.action,
    source: fields.source,
    from: fields.from,
    to: fields.to,
    lastEventId: z
      .string()
      .max(16_384)
      .optional()
      .meta({ description: 'resume after this event id (for clients that cannot send Last-Event-ID)' }),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    message: '"from" must not be after "to"',
    path: ['from'],
  });

/** Waits until the client took what it was sent; rejects when the stream is to end. */
export function writeWithBackpressure(res: Response, signal: AbortSignal) {
  return async (chunk: string): Promise<void> => {
    if (signal.aborted) throw signal.reason;
    if (!res.write(chunk)) await once(res, 'drain', { signal });
  };
}

export function streamRoutes(deps: {
  tail: TailSource;
  streams: OpenStreams;
  settings: TailSettings;
  rateLimits: RateLimits;
  logger: Logger;
}): Router {
  const router = Router();

  /**
   * Server-Sent Events: `log` events with the position as `id`, `watermark` events, and a `:`
   * heartbeat. A fresh connection starts at the committed offsets of now (or at the beginning
   * of every partition when `from` is given); `Last-Event-ID` (or `lastEventId`) resumes just
   * after the event it names. Events stored before partition/offset were recorded are not in it.
   */
  router.get('/api/logs/stream', requireScope('read'), deps.rateLimits.read, async (req, res) => {
    const parsed = streamQuerySchema.safeParse(req.query);
    if (!parsed.success) throw validationFailed(issueDetails(parsed.error.issues));
    const { lastEventId, ...filters } = parsed.data;
    const resumeText = req.get('last-event-id') ?? lastEventId;
    const resume = resumeText === undefined ? undefined : decodePosition(resumeText);
    if (resumeText !== undefined && resume === undefined) {
      throw validationFailed([{ path: 'lastEventId', message: 'is not an event id this stream sent' }]);
    }

    const slot = deps.streams.open(callerOf(res).name);
    try {
      const signal = AbortSignal.any([clientGone(res), slot.signal]);
      const snapshot = await deps.tail.progress(signal).catch((error: unknown) => {
        throw unavailable(error);
      });
      const start = resume ?? (filters.from === undefined ? new Map(snapshot.committed) : new Map<number, number>());
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        // The socket goes with the stream: an ended stream never sits as an idle keep-alive.
        Connection: 'close',
        'X-Accel-Buffering': 'no',
        ...(snapshot.completeThrough === undefined
          ? {}
          : { 'X-Complete-Through': snapshot.completeThrough.toISOString() }),
      });
      res.flushHeaders();
      const sink = writeWithBackpressure(res, signal);
      await sink(
        sseMessage({
          id: encodePosition(start),
          event: 'watermark',
          data: { completeThrough: snapshot.completeThrough?.toISOString() ?? null },
        }),
      );
      await runLiveTail({
        source: deps.tail,
        filters,
        start,
        settings: deps.settings,
        signal,
        sink,
        onStoreError: (error) =>
          deps.logger.warn({ err: error, traceId: res.locals.traceId }, 'live tail: store read failed; retrying'),
      });
    } catch (error) {
      if (!res.headersSent) throw error;
      // The client left, or the API is stopping, while a write waited: nothing to answer.
    } finally {
      slot.release();
      if (res.headersSent && !res.writableEnded) res.end();
    }
  });

  return router;
}
