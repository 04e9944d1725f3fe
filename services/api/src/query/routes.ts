import { Router, type Response } from 'express';
import { z } from 'zod';
import {
  eventIdSchema,
  isStorableInstant,
  sourceSchema,
  TIMESTAMP_RANGE_MESSAGE,
  type StoredEvent,
} from '@activity-logger/shared';
import { requireScope } from '../auth/authenticate';
import type { WatermarkReader } from '../delivery/watermark';
import { clientGone } from '../http/client-gone';
import { HttpError, notFound, issueDetails, validationFailed } from '../http/errors';
import type { RateLimits } from '../http/rate-limits';
import { CursorCodec, fingerprint } from './cursor';
import type { LogReader } from './log-reader';
import { unavailable } from './unavailable';

export const MAX_PAGE = 500;
/** How many sources an ambiguous GET /api/logs/:eventId names. */
const MAX_SOURCES_LISTED = 10;

/** A point in time in a query string: ISO 8601 with a zone, or epoch milliseconds. */
const instant = z
  .union([
    z.iso.datetime({ offset: true }),
    z.string().regex(/^\d{1,16}$/, 'must be an ISO 8601 date-time or epoch milliseconds'),
  ])
  .transform((value) => new Date(/^\d+$/.test(value) ? Number(value) : value))
  .refine(isStorableInstant, TIMESTAMP_RANGE_MESSAGE);

const text = z.string().min(1).max(128);

/**
 * Strict: an unknown parameter, a repeated one (an array) or a bracketed one such as
 * `userId[$ne]=x` is a 400, never a query operator.
 */
export const listQuerySchema = z
  .strictObject({
    userId: text.optional(),
    action: text.optional(),
    source: sourceSchema.optional().meta({ description: 'the name of the API key that sent the events' }),
    from: instant
      .optional()
      .meta({ description: 'inclusive; ISO 8601 with a zone or epoch ms, years 0000–9999, on `timestamp`' }),
    to: instant.optional().meta({ description: 'exclusive; same forms as `from`' }),
    limit: z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().min(1).max(MAX_PAGE, `at most ${MAX_PAGE}`))
      .default(50)
      // The document shows the input (a string of digits), which cannot carry the range itself.
      .meta({ description: `page size, 1–${MAX_PAGE} (default 50)` }),
    cursor: z.string().min(1).max(512).optional(),
    order: z.enum(['asc', 'desc']).default('desc'),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    message: '"from" must not be after "to"',
    path: ['from'],
  });

export const getOneQuerySchema = z.strictObject({
  source: sourceSchema.optional().meta({ description: 'whose event, when several API keys used this eventId' }),
});

/** Answers that carry events are personal data: never kept by a cache. */
function sendEvents(res: Response, body: unknown) {
  res.setHeader('Cache-Control', 'no-store');
  res.json(body);
}

export function queryRoutes(deps: {
  reader: LogReader;
  cursorSecret: string;
  rateLimits: RateLimits;
  watermark: WatermarkReader;
}): Router {
  const { reader } = deps;
  const cursors = new CursorCodec(deps.cursorSecret);
  const router = Router();
  const guard = [requireScope('read'), deps.rateLimits.read];

  router.get('/api/logs', ...guard, async (req, res) => {
    const parsed = listQuerySchema.safeParse(req.query);
    if (!parsed.success) throw validationFailed(issueDetails(parsed.error.issues));
    const { cursor, limit, ...filters } = parsed.data;
    const boundTo = fingerprint({
      userId: filters.userId,
      action: filters.action,
      // Only when present, so cursors issued before `source` existed stay valid.
      ...(filters.source === undefined ? {} : { source: filters.source }),
      from: filters.from?.getTime(),
      to: filters.to?.getTime(),
      order: filters.order,
    });
    const after = cursor === undefined ? undefined : cursors.decode(cursor, boundTo);
    if (cursor !== undefined && after === undefined) {
      throw validationFailed([{ path: 'cursor', message: 'is not a cursor returned for this query' }]);
    }
    // Read BEFORE the page query goes out: the watermark only moves forward, so read first it can
    // only understate what the page holds (read concurrently, a commit between the page's snapshot
    // and the progress read would let it claim an event the page does not have). Usually cached.
    const watermark = await deps.watermark.completeThrough();
    const page = await reader
      .find({ ...filters, limit, after }, { signal: clientGone(res) })
      .catch((error: unknown) => {
        throw unavailable(error);
      });
    const completeThrough = watermark?.toISOString() ?? null;
    if (completeThrough !== null) res.setHeader('X-Complete-Through', completeThrough);
    sendEvents(res, {
      data: page.events,
      nextCursor: page.next === undefined ? null : cursors.encode(page.next, boundTo),
      completeThrough,
    });
  });

  /**
   * Several API keys may use the same eventId (each key's ids are its own). Without `?source=`
   * the one event with that id is returned, whichever source sent it (read keys see every
   * source); when several sources have one, the answer is a 409 that names them, so one of them
   * is never picked silently.
   */
  router.get('/api/logs/:eventId', ...guard, async (req, res) => {
    const query = getOneQuerySchema.safeParse(req.query);
    if (!query.success) throw validationFailed(issueDetails(query.error.issues));
    const eventId = eventIdSchema.safeParse(req.params.eventId);
    if (!eventId.success) throw notFound('The event');
    const found: StoredEvent[] = await reader
      .findByEventId(
        eventId.data,
        { source: query.data.source, limit: MAX_SOURCES_LISTED },
        { signal: clientGone(res) },
      )
      .catch((error: unknown) => {
        throw unavailable(error);
      });
    const [event, ...others] = found;
    if (event === undefined) throw notFound('The event');
    if (others.length > 0) {
      throw new HttpError(
        409,
        'AMBIGUOUS_EVENT_ID',
        'Several API keys sent an event with this eventId; add ?source=.',
        {
          details: found.map((candidate) => ({ path: 'source', message: candidate.source ?? '(none)' })),
        },
      );
    }
    sendEvents(res, event);
  });

  return router;
}
