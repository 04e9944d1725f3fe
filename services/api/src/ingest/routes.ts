import { Router, type ErrorRequestHandler, type Response } from 'express';
import { completeEvent, mintEventId, type ActivityEvent, type ClientEvent, type Logger } from '@activity-logger/shared';
import { requireScope, sourceOf } from '../auth/authenticate';
import { statusUrl } from '../delivery/status-url';
import { HttpError, validationFailed } from '../http/errors';
import { jsonBody } from '../http/json-body';
import type { RateLimits } from '../http/rate-limits';
import type { ApiMetrics } from '../metrics';
import { PublishError, type EventPublisher } from './publisher';
import { validateBatch, validateEvent, type Validated } from './validation';

export const SINGLE_BODY_LIMIT = 64 * 1024;
export const BATCH_BODY_LIMIT = 1024 * 1024;

export interface IngestDeps {
  readonly publisher: EventPublisher;
  readonly produceTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics: ApiMetrics;
  readonly rateLimits: RateLimits;
  readonly now?: () => Date;
}

export function ingestRoutes(deps: IngestDeps): Router {
  const { publisher, logger, metrics } = deps;
  const now = deps.now ?? (() => new Date());
  const router = Router();

  /** Validated events → Kafka, answering only once the broker acknowledged all of them. */
  async function accept<T>(validated: Validated<T>, toEvents: (value: T) => ClientEvent[], res: Response) {
    const traceId = res.locals.traceId as string;
    if (!validated.ok) throw validationFailed(validated.details);
    const clientEvents = toEvents(validated.value);
    // Counted in events, once they are known to be valid: a 1,000-event batch costs 1,000.
    await deps.rateLimits.chargeIngest(res, clientEvents.length);
    const receivedAt = now();
    const source = sourceOf(res);
    const events: ActivityEvent[] = clientEvents.map((event) =>
      completeEvent(event, { receivedAt, traceId, source, mintId: mintEventId }),
    );
    let placements: Awaited<ReturnType<EventPublisher['publish']>>;
    try {
      placements = await publisher.publish(events, receivedAt.getTime() + deps.produceTimeoutMs);
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
      logger.warn({ traceId, events: events.length, code: error.code, err: error.cause }, 'events not acknowledged');
      throw new HttpError(503, 'UNAVAILABLE', 'The event log cannot take events right now; retry later.', {
        retryAfterSeconds: 5,
        cause: error,
      });
    }
    metrics.eventsAccepted.inc(events.length);
    const statusUrls = events.map((event, index) => statusUrl(event, placements[index]));
    return { traceId, events, statusUrls };
  }

  // Scope and an exhausted budget are checked before a byte of the body is read.
  const guard = [requireScope('ingest'), deps.rateLimits.ingestGate];

  router.post('/api/logs', ...guard, ...jsonBody(SINGLE_BODY_LIMIT), async (req, res) => {
    const { traceId, events, statusUrls } = await accept(validateEvent(req.body), (event) => [event], res);
    const [event] = events as [ActivityEvent];
    const [location] = statusUrls as [string];
    logger.info(
      { traceId, eventId: event.eventId, userId: event.userId, action: event.action, source: event.source },
      'event accepted',
    );
    res.status(202).location(location).json({
      status: 'Logged',
      traceId,
      eventId: event.eventId,
      message: 'Event queued successfully',
      statusUrl: location,
    });
  });

  router.post('/api/logs/batch', ...guard, ...jsonBody(BATCH_BODY_LIMIT), async (req, res) => {
    const { traceId, events, statusUrls } = await accept(validateBatch(req.body), (batch) => batch, res);
    logger.info({ traceId, count: events.length, source: events[0]?.source }, 'batch accepted');
    res.status(202).json({
      status: 'Logged',
      traceId,
      count: events.length,
      eventIds: events.map((e) => e.eventId),
      statusUrls,
    });
  });

  // A request refused as invalid is charged by its size (see chargeRefused), then answered as usual.
  router.use(((error, req, res, next) => {
    const refused = error instanceof HttpError && error.status === 400;
    if (!refused || req.method !== 'POST' || res.locals.caller === undefined) {
      next(error);
      return;
    }
    deps.rateLimits.chargeRefused(res).then(
      () => next(error),
      () => next(error),
    );
  }) as ErrorRequestHandler);

  return router;
}
