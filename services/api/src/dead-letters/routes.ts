import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '@activity-logger/shared';
import { callerOf, requireScope, sourceOf } from '../auth/authenticate';
import { HttpError, notFound, issueDetails, validationFailed } from '../http/errors';
import { jsonBody } from '../http/json-body';
import type { RateLimits } from '../http/rate-limits';
import { PublishError, type EventPublisher } from '../ingest/publisher';
import { CursorCodec, fingerprint } from '../query/cursor';
import { listQuerySchema } from '../query/routes';
import { LetterStoreError, type DeadLetterStore } from './letter-store';
import { replayLetter, type ReplayOutcome } from './replay';
import { replayBodySchema } from './replay-event';
import { letterDetail, letterSummary } from './views';
import { statusUrl } from '../delivery/status-url';

export const MAX_BULK_REPLAY = 100;
const BODY_LIMIT = 64 * 1024;

const listFields = listQuerySchema.shape;

export const letterListQuerySchema = z
  .strictObject({
    reason: z.string().min(1).max(64).optional().meta({ description: 'unparseable, schema_invalid or store_rejected' }),
    state: z.enum(['open', 'replayed', 'discarded']).optional(),
    from: listFields.from.meta({ description: 'inclusive, on failedAt; ISO 8601 with a zone or epoch ms' }),
    to: listFields.to.meta({ description: 'exclusive, on failedAt' }),
    limit: listFields.limit,
    cursor: listFields.cursor,
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    message: '"from" must not be after "to"',
    path: ['from'],
  });

/** `<topic>:<partition>:<offset>`: a topic name is at most 249 characters. */
const letterIdSchema = z.string().min(1).max(300);

export const bulkReplaySchema = z.strictObject({
  ids: z
    .array(letterIdSchema)
    .min(1)
    .max(MAX_BULK_REPLAY, `at most ${MAX_BULK_REPLAY} ids`)
    .refine((ids) => new Set(ids).size === ids.length, 'ids must not repeat'),
});

export const discardSchema = z.strictObject({ reason: z.string().trim().min(1).max(500) });

export interface DeadLetterRouteDeps {
  readonly store: DeadLetterStore;
  readonly publisher: EventPublisher;
  readonly produceTimeoutMs: number;
  readonly cursorSecret: string;
  readonly rateLimits: RateLimits;
  readonly logger: Logger;
  /** How long a replay may hold a letter before another may take it over (see replay.ts). */
  readonly staleClaimMs?: number;
}

/** A replay's body is optional: no body at all means "as it was"; any body is read as ingest reads one. */
function optionalJsonBody(limit: number): RequestHandler {
  const readers = jsonBody(limit);
  return (req, res, next) => {
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) {
      req.body = undefined;
      next();
      return;
    }
    const run = (index: number) => {
      const reader = readers[index];
      if (reader === undefined) {
        next();
        return;
      }
      void reader(req, res, (error?: unknown) => {
        if (error !== undefined && error !== null) next(error);
        else run(index + 1);
      });
    };
    run(0);
  };
}

function storeFailure(error: unknown): unknown {
  if (error instanceof LetterStoreError) {
    return new HttpError(503, error.code, 'The store cannot be reached right now; retry later.', {
      retryAfterSeconds: 5,
      cause: error,
    });
  }
  if (error instanceof PublishError) {
    return new HttpError(503, 'UNAVAILABLE', 'The event log cannot take events right now; retry later.', {
      retryAfterSeconds: 5,
      cause: error,
    });
  }
  return error;
}

/** An outcome as the HTTP answer of one replay: status and body, or the error to throw. */
function replayAnswer(outcome: ReplayOutcome): { status: number; body: unknown } | HttpError {
  switch (outcome.kind) {
    case 'replayed': {
      const summary = letterSummary(outcome.letter);
      const eventId = outcome.event?.eventId ?? outcome.letter.eventId;
      const source = outcome.event?.source ?? outcome.letter.source;
      return {
        status: 202,
        body: {
          ...summary,
          // From the letter's record, not this call: a repeated replay answers exactly as the first.
          ...(eventId === undefined
            ? {}
            : { statusUrl: statusUrl({ eventId, source }, outcome.letter.resolution?.replayedTo) }),
        },
      };
    }
    case 'not_found':
      return notFound('The dead letter');
    case 'discarded':
      return new HttpError(409, 'LETTER_DISCARDED', 'The dead letter was discarded; it cannot be replayed.');
    case 'in_progress':
      return new HttpError(409, 'REPLAY_IN_PROGRESS', 'Another replay of this letter is running; retry shortly.', {
        retryAfterSeconds: 1,
      });
    case 'invalid':
      return validationFailed(outcome.details);
    case 'needs_correction':
      return new HttpError(
        422,
        'CORRECTION_REQUIRED',
        'The letter cannot be replayed as it is; send a corrected body (see details).',
        { details: outcome.details },
      );
  }
}

export function deadLetterRoutes(deps: DeadLetterRouteDeps): Router {
  const { store, logger } = deps;
  const cursors = new CursorCodec(deps.cursorSecret);
  const router = Router();
  const guard = [requireScope('admin'), deps.rateLimits.read];
  const replayDeps = {
    store,
    publisher: deps.publisher,
    produceTimeoutMs: deps.produceTimeoutMs,
    staleClaimMs: deps.staleClaimMs ?? 2 * deps.produceTimeoutMs + 10_000,
  };
  const replayer = (res: Response) => ({
    by: callerOf(res).name,
    traceId: res.locals.traceId as string,
    authDisabled: sourceOf(res) === undefined,
  });
  const idOf = (req: Request) => {
    const id = letterIdSchema.safeParse(req.params.id);
    if (!id.success) throw notFound('The dead letter');
    return id.data;
  };
  function logReplay(res: Response, id: string, outcome: ReplayOutcome) {
    if (outcome.kind !== 'replayed') return;
    logger.info(
      {
        traceId: res.locals.traceId,
        by: callerOf(res).name,
        letter: id,
        eventId: outcome.event?.eventId ?? outcome.letter.eventId,
        source: outcome.event?.source ?? outcome.letter.source,
        produced: outcome.produced,
      },
      outcome.produced ? 'dead letter replayed' : 'dead letter already replayed; nothing produced',
    );
  }

  router.get('/api/dead-letters', ...guard, async (req, res) => {
    const parsed = letterListQuerySchema.safeParse(req.query);
    if (!parsed.success) throw validationFailed(issueDetails(parsed.error.issues, '(query)'));
    const { cursor, limit, ...filters } = parsed.data;
    const boundTo = fingerprint({
      letters: true,
      reason: filters.reason,
      state: filters.state,
      from: filters.from?.getTime(),
      to: filters.to?.getTime(),
    });
    const position = cursor === undefined ? undefined : cursors.decode(cursor, boundTo);
    if (cursor !== undefined && position === undefined) {
      throw validationFailed([{ path: 'cursor', message: 'is not a cursor returned for this query' }]);
    }
    const after = position === undefined ? undefined : { failedAt: position.timestamp, id: position.key };
    const page = await store.list({ ...filters, limit, after }).catch((error: unknown) => {
      throw storeFailure(error);
    });
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      data: page.letters.map(letterSummary),
      nextCursor:
        page.next === undefined ? null : cursors.encode({ timestamp: page.next.failedAt, key: page.next.id }, boundTo),
    });
  });

  router.get('/api/dead-letters/:id', ...guard, async (req, res) => {
    const letter = await store.get(idOf(req)).catch((error: unknown) => {
      throw storeFailure(error);
    });
    if (letter === undefined) throw notFound('The dead letter');
    res.setHeader('Cache-Control', 'no-store');
    res.json(letterDetail(letter));
  });

  router.post('/api/dead-letters/replay', ...guard, ...jsonBody(BODY_LIMIT), async (req, res) => {
    const parsed = bulkReplaySchema.safeParse(req.body);
    if (!parsed.success) throw validationFailed(issueDetails(parsed.error.issues, '(body)'));
    const results: unknown[] = [];
    let unavailable: HttpError | undefined;
    // One at a time: a broker that is away fails the first, and the rest are not attempted
    // (each would wait the produce timeout) but answered 503 so the caller can retry them.
    for (const id of parsed.data.ids) {
      if (unavailable !== undefined) {
        results.push({ id, status: 503, error: { code: unavailable.code, message: unavailable.message } });
        continue;
      }
      try {
        const outcome = await replayLetter(id, undefined, replayer(res), replayDeps);
        logReplay(res, id, outcome);
        const answer = replayAnswer(outcome);
        results.push(
          answer instanceof HttpError
            ? {
                id,
                status: answer.status,
                error: { code: answer.code, message: answer.message, details: answer.details },
              }
            : { id, status: answer.status, letter: answer.body },
        );
      } catch (error) {
        const failure = storeFailure(error);
        if (!(failure instanceof HttpError) || failure.status !== 503) throw error;
        unavailable = failure;
        results.push({ id, status: 503, error: { code: failure.code, message: failure.message } });
      }
    }
    res.json({ results });
  });

  router.post('/api/dead-letters/:id/replay', ...guard, optionalJsonBody(BODY_LIMIT), async (req, res) => {
    const id = idOf(req);
    let body;
    if (req.body !== undefined) {
      const parsed = replayBodySchema.safeParse(req.body);
      if (!parsed.success) throw validationFailed(issueDetails(parsed.error.issues, '(body)'));
      body = parsed.data;
    }
    const outcome = await replayLetter(id, body, replayer(res), replayDeps).catch((error: unknown) => {
      throw storeFailure(error);
    });
    logReplay(res, id, outcome);
    const answer = replayAnswer(outcome);
    if (answer instanceof HttpError) throw answer;
    res.status(answer.status).json(answer.body);
  });

  router.post('/api/dead-letters/:id/discard', ...guard, ...jsonBody(BODY_LIMIT), async (req, res) => {
    const id = idOf(req);
    const parsed = discardSchema.safeParse(req.body);
    if (!parsed.success) throw validationFailed(issueDetails(parsed.error.issues, '(body)'));
    const by = callerOf(res).name;
    const at = new Date();
    const result = await (async () => {
      const discarded = await store.discard(
        id,
        { by, at, reason: parsed.data.reason },
        new Date(at.getTime() - replayDeps.staleClaimMs),
      );
      return discarded ?? { current: await store.get(id) };
    })().catch((error: unknown) => {
      throw storeFailure(error);
    });
    if ('current' in result) {
      const current = result.current;
      if (current === undefined) throw notFound('The dead letter');
      if (current.state === 'replayed') {
        throw new HttpError(409, 'LETTER_REPLAYED', 'The dead letter was replayed; it cannot be discarded.');
      }
      if (current.state === 'open') {
        throw new HttpError(409, 'REPLAY_IN_PROGRESS', 'A replay of this letter is running; retry shortly.', {
          retryAfterSeconds: 1,
        });
      }
      // Discarded already: the same answer again (the first reason stands).
      res.json(letterSummary(current));
      return;
    }
    logger.info({ traceId: res.locals.traceId, by, letter: id, reason: parsed.data.reason }, 'dead letter discarded');
    res.json(letterSummary(result));
  });

  return router;
}
