import { ConfigError } from '@activity-logger/shared';
import { loadWorkerConfig } from './config';

const minimal = { KAFKA_BROKERS: '127.0.0.1:9092', MONGODB_URI: 'mongodb://127.0.0.1:27017/logs' };

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadWorkerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadWorkerConfig', () => {
  it('fills in the documented defaults and derives the DLQ topic from the topic', () => {
    const config = loadWorkerConfig(minimal);

    expect(config.ops).toEqual({ port: 3001, host: '0.0.0.0' });
    expect(config.consumer).toEqual({
      topic: 'activity-logs',
      groupId: 'activity-logger-worker',
      partitionsConsumedConcurrently: 6,
      sessionTimeoutMs: 8000,
      heartbeatIntervalMs: 1000,
      retry: { initialMs: 200, maxMs: 10_000 },
    });
    expect(config.store).toEqual({ writeTimeoutMs: 10_000 });
    expect(config.health).toEqual({ stallReadyMs: 60_000, stallLiveMs: 600_000, lagCheckIntervalMs: 1000 });
    expect(config.deadLetters.maxBatchBytes).toBe(900_000);
    expect(config.startupTimeoutMs).toBe(90_000);
    expect(config.deadLetters.topic).toBe('activity-logs.dlq');
    expect(config.topics).toEqual({ topic: 'activity-logs', dlqTopic: 'activity-logs.dlq', partitions: 6 });
    expect(config.retention).toEqual({ days: 90, sweepIntervalMs: 60_000 });
    expect(config.shutdownTimeoutMs).toBe(25_000);
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.mongo).toEqual({ uri: 'mongodb://127.0.0.1:27017/logs', socketTimeoutMs: 30_000 });
    expect(loadWorkerConfig({ ...minimal, KAFKA_TOPIC: 'audit' }).deadLetters.topic).toBe('audit.dlq');
  });

  it('is frozen all the way down', () => {
    const config = loadWorkerConfig(minimal);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.consumer.retry)).toBe(true);
    expect(Object.isFrozen(config.kafka.brokers)).toBe(true);
  });

  it.each([
    ['RETENTION_DAYS', '0'],
    ['RETENTION_DAYS', '1.5'],
    ['OPS_PORT', 'http'],
    ['OPS_PORT', '70000'],
    ['KAFKA_SESSION_TIMEOUT_MS', '1000'],
    ['MONGODB_SOCKET_TIMEOUT_MS', '0'],
    ['KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY', '-1'],
    ['SHUTDOWN_TIMEOUT_MS', 'soon'],
    ['KAFKA_BROKERS', 'no-port'],
  ])('names %s when it is %p', (variable, value) => {
    const error = configError({ ...minimal, [variable]: value });
    expect(error.variables).toContain(variable);
    expect(error.message).toContain(variable);
  });

  it('names every missing required variable at once', () => {
    const error = configError({});
    expect(error.variables).toEqual(expect.arrayContaining(['KAFKA_BROKERS', 'MONGODB_URI']));
  });

  it('rejects a retry maximum below the initial delay, and a DLQ topic equal to the topic', () => {
    expect(configError({ ...minimal, STORE_RETRY_INITIAL_MS: '500', STORE_RETRY_MAX_MS: '100' }).variables).toEqual([
      'STORE_RETRY_MAX_MS',
    ]);
    expect(configError({ ...minimal, KAFKA_DLQ_TOPIC: 'activity-logs' }).variables).toEqual(['KAFKA_DLQ_TOPIC']);
  });

  it('rejects timings that contradict each other', () => {
    expect(configError({ ...minimal, KAFKA_HEARTBEAT_INTERVAL_MS: '5000' }).variables).toEqual([
      'KAFKA_HEARTBEAT_INTERVAL_MS',
    ]);
    expect(configError({ ...minimal, WORKER_STALL_LIVE_MS: '1000' }).variables).toEqual(['WORKER_STALL_LIVE_MS']);
    expect(configError({ ...minimal, STORE_WRITE_TIMEOUT_MS: '16000' }).variables).toEqual(['STORE_WRITE_TIMEOUT_MS']);
    expect(configError({ ...minimal, WORKER_STALL_READY_MS: '20000' }).variables).toEqual(['WORKER_STALL_READY_MS']);
  });

  it('requires both SASL credentials once a mechanism is set', () => {
    const error = configError({ ...minimal, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' });
    expect(error.variables).toEqual(['KAFKA_SASL_PASSWORD']);
  });
});
