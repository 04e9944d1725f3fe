import pino from 'pino';
import type { AppDeps } from './app';
import { configurationLine, KeyRing, parseKeyLines, type Scope } from './auth/api-keys';
import { FakeDeliveryStore } from './delivery/fake-delivery-store';
import { createApiMetrics } from './metrics';
import { FakeLogReader } from './query/fake-log-reader';

/**
 * The app's dependencies with fakes, for route tests that need no servers: one key with the
 * given scopes, a publisher that acknowledges at once, an empty store, no watermark. A test
 * replaces what it is about.
 */
export function fakeAppDeps(key: { value: string; scopes: Scope[] }, overrides: Partial<AppDeps> = {}): AppDeps {
  return {
    config: {
      produce: { timeoutMs: 1000, lingerMs: 0, maxBatchBytes: 100_000, maxBatchEvents: 10 },
      cursorSecret: 'unit-test-cursor-secret',
      rateLimits: { windowSeconds: 60, ingestEvents: 100, readRequests: 100 },
    },
    keys: new KeyRing(parseKeyLines([configurationLine('test-key', key.scopes, key.value)]).keys),
    publisher: { publish: () => Promise.resolve([]), close: () => Promise.resolve() },
    reader: new FakeLogReader([]),
    delivery: {
      topic: 't',
      store: new FakeDeliveryStore(),
      watermark: { completeThrough: () => Promise.resolve(null) },
    },
    logger: pino({ level: 'silent' }),
    metrics: createApiMetrics(),
    ...overrides,
  };
}
