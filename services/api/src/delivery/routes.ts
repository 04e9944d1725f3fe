import { randomUUID } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { eventIdSchema, LIMITS, sourceSchema, type Logger } from '@activity-logger/shared';
import { callerOf, requireScope, sourceOf } from '../auth/authenticate';
import { HttpError, notFound, issueDetails, validationFailed } from '../http/errors';
import type { RateLimits } from '../http/rate-limits';
import { CursorCodec, fingerprint } from '../query/cursor';
import type { LogReader } from '../query/log-reader';
import type { DeliveryStore } from './delivery-store';
import { eraseUser, toErasure } from './erasure';
import { receiptOf } from './receipt';
import type { WatermarkReader } from './watermark';
import { unavailable } from '../query/unavailable';

export const MAX_ERASURES_PAGE = 200;

/** `<partition>:<offset>` as a 202's statusUrl gives it. */
const position = z
  .string()
  .regex(/^\d{1,9}:\d{1,16}$/, 'must be <partition>:<offset> as the statusUrl gives it')
  .transform((value) => {
    const [partition, offset] = value.split(':').map(Number) as [number, number];
    return { partition, offset };
  });

export const statusQuerySchema = z.strictObject({
  source: sourceSchema.optional().meta({ description: 'whose event; an ingest-only key may only ask about its own' }),
  at: position.optional().meta({ description: 'the partition:offset from the 202 (tells "pending" apart)' }),
});

const userIdSchema = z.string().min(1).max(LIMITS.idLength);

export const erasureListSchema = z.strictObject({
  userId: userIdSchema.optional(),
  limit: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(1).max(MAX_ERASURES_PAGE, `at most ${MAX_ERASURES_PAGE}`))
    .default(50)
    .meta({ description: `page size, 1–${MAX_ERASURES_PAGE} (default 50)` }),
  cursor: z.string().min(1).max(512).optional(),
});

export interface DeliveryDeps {
  readonly topic: string;
  readonly reader: LogReader;
  readonly store: DeliveryStore;
  readonly watermark: WatermarkReader;
  readonly cursorSecret: string;
  readonly rateLimits: RateLimits;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** Scope read, or ingest for the caller's own events: a sender may follow what it sent. */
const readOrOwnIngest: RequestHandler = (_req, res, next) => {
  const { scopes } = callerOf(res);
  if (scopes.has('read') || scopes.has('ingest')) {
    next();
    return;
  }
  next(new HttpError(403, 'FORBIDDEN', 'This API key lacks the "read" or "ingest" scope.'));
};

/** Receipts (GET /api/logs/:eventId/status) and erasures (DELETE /api/users/:userId/events, GET /api/erasures). */
export function deliveryRoutes(deps: DeliveryDeps): Router {
  const { logger } = deps;
  const now = deps.now ?? (() => new Date());
  const cursors = new CursorCodec(deps.cursorSecret);
  const router = Router();
  const admin = [requireScope('admin'), deps.rateLimits.read];

  router.get('/api/logs/:eventId/status', readOrOwnIngest, deps.rateLimits.read, async (req, res) => {
    const query = statusQuerySchema.safeParse(req.query);
    if (!query.success) throw validationFailed(issueDetails(query.error.issues));
    const eventId = eventIdSchema.safeParse(req.params.eventId);
    if (!eventId.success) throw notFound('The event');
    let source = query.data.source;
    if (!callerOf(res).scopes.has('read')) {
      // Ingest only: its own events, whatever ?source= says (another's is answered as unknown).
      const own = sourceOf(res);
      if (source !== undefined && source !== own) throw notFound('The event');
      source = own;
    }
    const result = await receiptOf({ eventId: eventId.data, source, at: query.data.at }, deps).catch(
      (error: unknown) => {
        throw unavailable(error);
      },
    );
    if (!result.ok) {
      throw new HttpError(
        409,
        'AMBIGUOUS_EVENT_ID',
        'Several API keys sent an event with this eventId; add ?source=.',
        {
          details: result.sources.map((name) => ({ path: 'source', message: name })),
        },
      );
    }
    res.setHeader('Cache-Control', 'no-store');
    if (result.receipt.completeThrough !== null) res.setHeader('X-Complete-Through', result.receipt.completeThrough);
    res.json(result.receipt);
  });

  router.delete('/api/users/:userId/events', ...admin, async (req, res) => {
    const userId = userIdSchema.safeParse(req.params.userId);
    if (!userId.success) throw validationFailed([{ path: 'userId', message: 'must be 1–128 characters' }]);
    const requestedBy = callerOf(res).name;
    const erasure = await eraseUser(
      { userId: userId.data, requestedBy },
      { store: deps.store, now, newId: randomUUID },
    );
    // The userId is personal data: the log says which erasure, by whom, and how much, not whose.
    logger.info(
      { traceId: res.locals.traceId as string, erasureId: erasure.id, requestedBy, deleted: erasure.deleted },
      'user erased',
    );
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).json({ erasure });
  });

  router.get('/api/erasures', ...admin, async (req, res) => {
    const query = erasureListSchema.safeParse(req.query);
    if (!query.success) throw validationFailed(issueDetails(query.error.issues));
    const { userId, limit, cursor } = query.data;
    const boundTo = fingerprint({ erasures: true, userId });
    const after = cursor === undefined ? undefined : cursors.decode(cursor, boundTo);
    if (cursor !== undefined && after === undefined) {
      throw validationFailed([{ path: 'cursor', message: 'is not a cursor returned for this query' }]);
    }
    const docs = await deps.store.listErasures({
      userId,
      limit: limit + 1,
      after: after === undefined ? undefined : { requestedAt: after.timestamp, id: after.key },
    });
    const page = docs.slice(0, limit);
    const last = page[page.length - 1];
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      data: page.map(toErasure),
      nextCursor:
        docs.length > limit && last !== undefined
          ? cursors.encode({ timestamp: last.requestedAt, key: last._id }, boundTo)
          : null,
    });
  });

  return router;
}
