import { Router } from 'express';
import type { Connection } from 'mongoose';
import { deadLetterModel, logModel, partitionProgressModel, type Logger } from '@activity-logger/shared';
import type { ApiConfig } from './config';
import { deadLetterRoutes } from './dead-letters/routes';
import { createDeadLetterStore, type DeadLetterStore } from './dead-letters/letter-store';
import { deferred } from './http/deferred';
import type { RateLimits } from './http/rate-limits';
import type { EventPublisher } from './ingest/publisher';
import { exportRoutes } from './query/export';
import { createLogExporter, type LogExporter } from './query/log-exporter';
import { streamRoutes } from './query/stream';
import type { TailSettings } from './tail/live-tail';
import { OpenStreams } from './tail/open-streams';
import { createTailSource, type TailSource } from './tail/tail-source';

/** What the dead-letter, live-tail and export routes read and write (issue 10). */
export interface ViewDeps {
  readonly deadLetters: DeadLetterStore;
  readonly tail: TailSource;
  readonly exporter: LogExporter;
  /** Open tails and exports, capped, and ended at shutdown (main.ts calls closeAll). */
  readonly streams: OpenStreams;
  /** Open exports, capped apart from the tails (main.ts calls closeAll). */
  readonly exports: OpenStreams;
  readonly tailSettings: TailSettings;
}

/**
 * Mounted before the query routes: `/api/logs/stream` and `/api/logs/export` would otherwise be
 * read as `/api/logs/:eventId`.
 */
export function viewRoutes(
  views: ViewDeps,
  deps: {
    publisher: EventPublisher;
    produceTimeoutMs: number;
    cursorSecret: string;
    rateLimits: RateLimits;
    logger: Logger;
  },
): Router {
  const router = Router();
  router.use(
    deadLetterRoutes({
      store: views.deadLetters,
      publisher: deps.publisher,
      produceTimeoutMs: deps.produceTimeoutMs,
      cursorSecret: deps.cursorSecret,
      rateLimits: deps.rateLimits,
      logger: deps.logger,
    }),
  );
  router.use(
    streamRoutes({
      tail: views.tail,
      streams: views.streams,
      settings: views.tailSettings,
      rateLimits: deps.rateLimits,
      logger: deps.logger,
    }),
  );
  router.use(
    exportRoutes({
      exporter: views.exporter,
      streams: views.exports,
      rateLimits: deps.rateLimits,
      logger: deps.logger,
    }),
  );
  return router;
}

/**
 * The views as main.ts wires them: usable at once (503 until the store is reached), attached to
 * the store once it is connected.
 */
export function deferredViews(
  config: Pick<ApiConfig, 'streams' | 'query' | 'topic'>,
  /** The topic's partition count: the same counter as the GET watermark's, so both say the same. */
  partitionCount: () => Promise<number>,
): { views: ViewDeps; attach(connection: Connection): void } {
  const deadLetters = deferred<DeadLetterStore>();
  const tail = deferred<TailSource>();
  const exporter = deferred<LogExporter>();
  return {
    views: {
      deadLetters: deadLetters.value,
      tail: tail.value,
      exporter: exporter.value,
      streams: new OpenStreams(config.streams.limits),
      exports: new OpenStreams(config.streams.exportLimits),
      tailSettings: config.streams.tail,
    },
    attach(connection) {
      deadLetters.attach(createDeadLetterStore(deadLetterModel(connection), config.query));
      tail.attach(
        createTailSource({
          logs: logModel(connection),
          progress: partitionProgressModel(connection),
          topic: config.topic.name,
          partitionCount,
          timeoutMs: config.query.timeoutMs,
          // Streams polling at once share one progress read.
          progressTtlMs: Math.floor(config.streams.tail.pollMs / 2),
        }),
      );
      exporter.attach(createLogExporter(logModel(connection), config.streams.export));
    },
  };
}
