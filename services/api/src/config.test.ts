import { ConfigError } from '@activity-logger/shared';
import { loadApiConfig } from './config';

const KEY_LINE = `web:ingest+read:${'ab'.repeat(32)}`;
const minimal = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  MONGODB_URI: 'mongodb://127.0.0.1:27017/logs',
  API_KEYS: KEY_LINE,
  CURSOR_SECRET: 'a-cursor-secret-of-16+-chars',
};

function variablesNamedBy(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadApiConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.variables;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadApiConfig', () => {
  it('fills in the documented defaults', () => {
    const config = loadApiConfig(minimal);
    expect(config.http).toEqual({ port: 3000, host: '0.0.0.0' });
    expect(config.ops).toEqual({ port: 3002, host: '0.0.0.0' });
    expect(config.shutdown).toEqual({ delayMs: 5000, timeoutMs: 25_000 });
    expect(config.startupTimeoutMs).toBe(90_000);
    expect(config.topic).toEqual({ name: 'activity-logs', partitions: 6 });
    expect(config.produce).toEqual({ timeoutMs: 5000, lingerMs: 5, maxBatchBytes: 900_000, maxBatchEvents: 2000 });
    expect(config.kafka).toEqual({ brokers: ['127.0.0.1:9092'], clientId: 'activity-logger', ssl: false });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('refuses a shutdown bound that cannot cover the readiness delay and the last produce', () => {
    expect(variablesNamedBy({ ...minimal, SHUTDOWN_DELAY_MS: '20000', SHUTDOWN_TIMEOUT_MS: '25000' })).toEqual([
      'SHUTDOWN_TIMEOUT_MS',
    ]);
  });

  it('is production unless told otherwise: no default cursor secret, no running without keys', () => {
    const { CURSOR_SECRET: _secret, ...withoutSecret } = minimal;
    expect(variablesNamedBy(withoutSecret)).toEqual(['CURSOR_SECRET']);
    expect(variablesNamedBy({ ...minimal, API_KEYS: undefined, AUTH_DISABLED: 'true' })).toEqual(['AUTH_DISABLED']);
    expect(loadApiConfig({ ...withoutSecret, NODE_ENV: 'development' }).cursorSecret).toBeDefined();
  });

  it('keeps the ops port off the public one', () => {
    expect(variablesNamedBy({ ...minimal, PORT: '3000', OPS_PORT: '3000' })).toEqual(['OPS_PORT']);
  });

  it('reads key lines and the security defaults', () => {
    const config = loadApiConfig({ ...minimal, API_KEYS: `${KEY_LINE}, web:ingest:${'cd'.repeat(32)}` });
    expect(config.auth.inlineKeys.map((key) => key.name)).toEqual(['web', 'web']);
    expect(config.rateLimits).toEqual({ windowSeconds: 10, ingestEvents: 10_000, readRequests: 100 });
    expect(config.query).toEqual({ timeoutMs: 3000 });
    expect(config.httpLimits).toEqual({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 1000,
      maxHeadersCount: 100,
    });
  });

  it('starts without keys only when auth is disabled in development', () => {
    const env = {
      KAFKA_BROKERS: minimal.KAFKA_BROKERS,
      MONGODB_URI: minimal.MONGODB_URI,
      AUTH_DISABLED: 'true',
      NODE_ENV: 'development',
    };
    expect(loadApiConfig(env).auth.disabled).toBe(true);
  });

  it('takes Confluent Cloud and Atlas settings', () => {
    const config = loadApiConfig({
      KAFKA_BROKERS: 'pkc-1.europe-west1.gcp.confluent.cloud:9092',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'key',
      KAFKA_SASL_PASSWORD: 'secret',
      MONGODB_URI: 'mongodb+srv://user:pw@cluster0.abcde.mongodb.net/logs?retryWrites=true',
      API_KEYS: KEY_LINE,
      CURSOR_SECRET: minimal.CURSOR_SECRET,
    });
    expect(config.kafka.ssl).toBe(true);
    expect(config.kafka.sasl).toEqual({ mechanism: 'plain', username: 'key', password: 'secret' });
    expect(config.mongo.uri).toMatch(/^mongodb\+srv:/);
  });

  it.each([
    ['a missing broker list', { MONGODB_URI: minimal.MONGODB_URI }, 'KAFKA_BROKERS'],
    ['a non-numeric port', { ...minimal, PORT: 'http' }, 'PORT'],
    ['a produce timeout of 0', { ...minimal, PRODUCE_TIMEOUT_MS: '0' }, 'PRODUCE_TIMEOUT_MS'],
    ['a URI of another scheme', { ...minimal, MONGODB_URI: 'postgres://x' }, 'MONGODB_URI'],
    [
      'SASL without a password',
      { ...minimal, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'k' },
      'KAFKA_SASL_PASSWORD',
    ],
    [
      'production without a cursor secret',
      { ...minimal, NODE_ENV: 'production', CURSOR_SECRET: undefined },
      'CURSOR_SECRET',
    ],
    ['test mode without a cursor secret', { ...minimal, NODE_ENV: 'test', CURSOR_SECRET: undefined }, 'CURSOR_SECRET'],
    ['no API key at all', { KAFKA_BROKERS: minimal.KAFKA_BROKERS, MONGODB_URI: minimal.MONGODB_URI }, 'API_KEYS'],
    ['a malformed key line', { ...minimal, API_KEYS: 'web:ingest:nothex' }, 'API_KEYS'],
    ['an unknown scope', { ...minimal, API_KEYS: `web:write:${'ab'.repeat(32)}` }, 'API_KEYS'],
    [
      'auth disabled outside development',
      { ...minimal, AUTH_DISABLED: 'true', NODE_ENV: 'production' },
      'AUTH_DISABLED',
    ],
    [
      'a headers timeout above the request timeout',
      { ...minimal, HTTP_HEADERS_TIMEOUT_MS: '40000' },
      'HTTP_HEADERS_TIMEOUT_MS',
    ],
  ])('names the variable for %s', (_name, env, variable) => {
    expect(variablesNamedBy(env)).toContain(variable);
  });
});
