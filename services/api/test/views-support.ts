import type { Admin } from 'kafkajs';
import type { Connection } from 'mongoose';
import { deadLetterModel, logModel, partitionProgressModel } from '@activity-logger/shared';
import { createDeadLetterStore } from '../src/dead-letters/letter-store';
import { createLogExporter, type ExportSettings } from '../src/query/log-exporter';
import type { TailSettings } from '../src/tail/live-tail';
import { OpenStreams, type StreamLimits } from '../src/tail/open-streams';
import { kafkaPartitionCount } from '../src/delivery/watermark';
import { createTailSource } from '../src/tail/tail-source';
import type { ViewDeps } from '../src/views';

export interface ViewOptions {
  readonly tail?: Partial<TailSettings>;
  readonly limits?: Partial<StreamLimits>;
  readonly exportLimits?: Partial<StreamLimits>;
  readonly export?: Partial<ExportSettings>;
}

/** Dead letters, tail and export over the test's own database and topic, as views.ts wires them. */
export function testViews(connection: Connection, admin: Admin, topic: string, options: ViewOptions = {}): ViewDeps {
  const tailSettings: TailSettings = { pollMs: 100, heartbeatMs: 15_000, batch: 500, ...options.tail };
  return {
    deadLetters: createDeadLetterStore(deadLetterModel(connection), { timeoutMs: 3000 }),
    tail: createTailSource({
      logs: logModel(connection),
      progress: partitionProgressModel(connection),
      topic,
      partitionCount: kafkaPartitionCount(admin, topic),
      timeoutMs: 3000,
      progressTtlMs: Math.floor(tailSettings.pollMs / 2),
    }),
    exporter: createLogExporter(logModel(connection), {
      batchSize: 1000,
      timeoutMs: 600_000,
      batchTimeoutMs: 30_000,
      ...options.export,
    }),
    streams: new OpenStreams({ perKey: 5, total: 50, ...options.limits }),
    exports: new OpenStreams({ perKey: 2, total: 4, ...options.exportLimits }),
    tailSettings,
  };
}
