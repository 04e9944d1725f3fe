import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from '@activity-logger/shared';
import type { ApiConfig } from './config';
import { errorHandler, notFound } from './http/errors';
import { assignTraceId } from './http/trace';
import { ingestRoutes } from './ingest/routes';
import type { EventPublisher } from './ingest/publisher';
import type { ApiMetrics } from './metrics';
import { opsRoutes } from './ops/routes';
import type { LogReader } from './query/log-reader';
import { queryRoutes } from './query/routes';

export interface AppDeps {
  readonly config: Pick<ApiConfig, 'produce' | 'cursorSecret'>;
  readonly publisher: EventPublisher;
  readonly reader: LogReader;
  readonly logger: Logger;
  readonly metrics: ApiMetrics;
}

/** The Express app, not listening: main.ts listens, tests drive it with supertest. */
export function createApp({ config, publisher, reader, logger, metrics }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple'); // flat strings only: no `a[b]=c` objects
  app.use(recordDuration(metrics));
  app.use(assignTraceId);
  app.use(
    opsRoutes({
      registry: metrics.registry,
      readiness: [
        { name: 'kafka', check: () => Promise.resolve(publisher.isConnected()) },
        { name: 'mongodb', check: async () => reader.ping().then(() => true) },
      ],
    }),
  );
  app.use(ingestRoutes({ publisher, produceTimeoutMs: config.produce.timeoutMs, logger, metrics }));
  app.use(queryRoutes({ reader, cursorSecret: config.cursorSecret }));
  app.use(() => {
    throw notFound('This route');
  });
  app.use(errorHandler(logger));
  return app;
}

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
