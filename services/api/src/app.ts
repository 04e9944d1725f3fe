import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Logger } from '@activity-logger/shared';
import type { KeyRing } from './auth/api-keys';
import { authenticate } from './auth/authenticate';
import type { ApiConfig } from './config';
import { errorHandler, notFound, toHttpError, validationFailed } from './http/errors';
import type { DeliveryStore } from './delivery/delivery-store';
import { deliveryRoutes } from './delivery/routes';
import type { WatermarkReader } from './delivery/watermark';
import { createRateLimits } from './http/rate-limits';
import { assignTraceId } from './http/trace';
import { ingestRoutes } from './ingest/routes';
import type { EventPublisher } from './ingest/publisher';
import type { ApiMetrics } from './metrics';
import { apiReferenceRoutes } from './openapi/routes';
import type { LogReader } from './query/log-reader';
import { parseQueryString } from './query/query-string';
import { queryRoutes } from './query/routes';
import { viewerRoutes } from './viewer/routes';
import { viewRoutes, type ViewDeps } from './views';

export interface AppDeps {
  readonly config: Pick<ApiConfig, 'produce' | 'cursorSecret' | 'rateLimits'>;
  /** The accepted API keys; undefined only when auth is disabled (local development). */
  readonly keys: KeyRing | undefined;
  readonly publisher: EventPublisher;
  readonly reader: LogReader;
  /** Receipts, the freshness watermark and erasures (issue 10). */
  readonly delivery: { readonly topic: string; readonly store: DeliveryStore; readonly watermark: WatermarkReader };
  readonly logger: Logger;
  readonly metrics: ApiMetrics;
  /** The built viewer's folder; the build's own folder unless a test points elsewhere. */
  readonly viewerDir?: string;
  /** Dead letters, the live tail and export; absent where a test does not need them. */
  readonly views?: ViewDeps;
}

/**
 * The public Express app, not listening: main.ts listens, tests drive it with supertest. Health,
 * readiness and metrics are not here: they are on the ops port (ops.ts).
 */
export function createApp({
  config,
  keys,
  publisher,
  reader,
  delivery,
  logger,
  metrics,
  viewerDir,
  views,
}: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', parseQueryString); // flat, exactly decoded strings: no `a[b]=c` objects
  app.use(helmet());
  app.use(recordDuration(metrics));
  app.use(assignTraceId);
  app.use(apiReferenceRoutes());
  app.use(viewerRoutes(viewerDir));
  // Every /api route below needs a key (an unknown /api path too: a 401 tells nothing about it).
  app.use('/api', authenticate(keys));
  app.use('/api', refuseNulInPath);
  const rateLimits = createRateLimits(config.rateLimits);
  app.use(ingestRoutes({ publisher, produceTimeoutMs: config.produce.timeoutMs, logger, metrics, rateLimits }));
  if (views !== undefined) {
    const { cursorSecret, produce } = config;
    app.use(viewRoutes(views, { publisher, produceTimeoutMs: produce.timeoutMs, cursorSecret, rateLimits, logger }));
  }
  app.use(queryRoutes({ reader, cursorSecret: config.cursorSecret, rateLimits, watermark: delivery.watermark }));
  app.use(deliveryRoutes({ ...delivery, reader, cursorSecret: config.cursorSecret, rateLimits, logger }));
  app.use(() => {
    throw notFound('This route');
  });
  app.use(countIngestRejections(metrics));
  app.use(errorHandler(logger));
  return app;
}

/**
 * NUL (U+0000) in a path segment (an eventId, a letter id, a userId) can name nothing stored, and
 * some servers (PostgreSQL under FerretDB) fail the whole query over it: a 400, never a 500.
 */
const refuseNulInPath: RequestHandler = (req, _res, next) => {
  if (/%00/i.test(req.path)) throw validationFailed([{ path: '(path)', message: 'must not contain NUL (U+0000)' }]);
  next();
};

/** Labels by route pattern, not raw path, so event ids do not explode the label set. */
function recordDuration(metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      stop({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

/** Every refused ingest request, whatever refused it (validation, body parser, Kafka), by code. */
function countIngestRejections(metrics: ApiMetrics): ErrorRequestHandler {
  return (error: unknown, req, _res, next) => {
    if (req.method === 'POST' && (req.path === '/api/logs' || req.path === '/api/logs/batch')) {
      metrics.ingestRejected.inc({ reason: toHttpError(error).code });
    }
    next(error);
  };
}
