import { Router } from 'express';
import { z } from 'zod';
import { eventIdSchema, MAX_TIMESTAMP_MS } from '@activity-logger/shared';
import { notFound, validationFailed } from '../http/errors';
import { CursorCodec, fingerprint } from './cursor';
import type { LogReader } from './log-reader';

export const MAX_PAGE = 500;

/** A point in time in a query string: ISO 8601 with a zone, or epoch milliseconds. */
const instant = z
  .union([
    z.iso.datetime({ offset: true }),
    z.string().regex(/^\d{1,16}$/, 'must be an ISO 8601 date-time or epoch milliseconds'),
  ])
  .transform((value) => new Date(/^\d+$/.test(value) ? Number(value) : value))
  .refine((date) => date.getTime() <= MAX_TIMESTAMP_MS, 'must not be after 9999-12-31T23:59:59.999Z');

const text = z.string().min(1).max(128);

/**
 * Strict: an unknown parameter, a repeated one (an array) or a bracketed one such as
 * `userId[$ne]=x` is a 400, never a query operator.
 */
const listQuerySchema = z
  .strictObject({
    userId: text.optional(),
    action: text.optional(),
    from: instant.optional(),
    to: instant.optional(),
    limit: z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().min(1).max(MAX_PAGE, `at most ${MAX_PAGE}`))
      .default(50),
    cursor: z.string().min(1).max(512).optional(),
    order: z.enum(['asc', 'desc']).default('desc'),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    message: '"from" must not be after "to"',
    path: ['from'],
  });

export function queryRoutes(deps: { reader: LogReader; cursorSecret: string }): Router {
  const { reader } = deps;
  const cursors = new CursorCodec(deps.cursorSecret);
  const router = Router();

  router.get('/api/logs', async (req, res) => {
    const parsed = listQuerySchema.safeParse(req.query);
    if (!parsed.success) {
      throw validationFailed(
        parsed.error.issues.map((issue) => ({
          path: [...issue.path, ...(issue.code === 'unrecognized_keys' ? issue.keys : [])].join('.') || '(query)',
          message: issue.message,
        })),
      );
    }
    const { cursor, limit, ...filters } = parsed.data;
    const boundTo = fingerprint({
      userId: filters.userId,
      action: filters.action,
      from: filters.from?.getTime(),
      to: filters.to?.getTime(),
      order: filters.order,
    });
    const after = cursor === undefined ? undefined : cursors.decode(cursor, boundTo);
    if (cursor !== undefined && after === undefined) {
      throw validationFailed([{ path: 'cursor', message: 'is not a cursor returned for this query' }]);
    }
    const page = await reader.find({ ...filters, limit, after });
    res.json({ data: page.events, nextCursor: page.next === undefined ? null : cursors.encode(page.next, boundTo) });
  });

  router.get('/api/logs/:eventId', async (req, res) => {
    const eventId = eventIdSchema.safeParse(req.params.eventId);
    const event = eventId.success ? await reader.findById(eventId.data) : undefined;
    if (event === undefined) throw notFound('The event');
    res.json(event);
  });

  return router;
}
