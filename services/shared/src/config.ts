import { z } from 'zod';
import { ConfigError } from './errors';

/**
 * Building blocks for the per-service configuration schemas. Each service composes one zod object
 * from these fields plus its own, parses `process.env` once in `main.ts`, and hands each component
 * only the slice it needs. Nothing here reads `process.env`.
 */

/** Environment booleans: `true/false/1/0/yes/no`, case-insensitive. */
export const envBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const hostPort = /^[A-Za-z0-9.-]+:\d{1,5}$/;

export const kafkaEnvFields = {
  KAFKA_BROKERS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((broker) => broker.trim())
        .filter((broker) => broker.length > 0),
    )
    .pipe(
      z
        .array(z.string().regex(hostPort, 'each broker must be host:port'))
        .min(1, 'at least one broker, as host:port[,host:port…]'),
    ),
  KAFKA_CLIENT_ID: z.string().min(1).default('activity-logger'),
  KAFKA_TOPIC: z.string().min(1).default('activity-logs'),
  KAFKA_SSL: envBoolean.default(false),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
} as const;

export const mongoEnvFields = {
  MONGODB_URI: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://'),
  /** Overrides the database named in the URI path; the URI's default database otherwise. */
  MONGODB_DB: z.string().min(1).optional(),
  /**
   * A socket that sends nothing back for this long is closed, so a half-open connection fails the
   * operation on it instead of holding it for the kernel's TCP timeout (minutes).
   */
  MONGODB_SOCKET_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
} as const;

/** The ops port (/healthz, /readyz, /metrics), never the public API port. */
export function opsEnvFields(defaultPort: number) {
  return {
    OPS_PORT: z.coerce.number().int().min(0).max(65_535).default(defaultPort),
    OPS_HOST: z.string().min(1).default('0.0.0.0'),
  } as const;
}

export function opsConfigFromEnv(env: { OPS_PORT: number; OPS_HOST: string }): { port: number; host: string } {
  return { port: env.OPS_PORT, host: env.OPS_HOST };
}

export const commonEnvFields = {
  // Production unless said otherwise: the local conveniences (a default cursor secret, running
  // without keys) must be asked for, never fallen into by forgetting a variable.
  NODE_ENV: z.enum(['development', 'test', 'production']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
} as const;

/** SASL needs both credentials; a half-configured mechanism would fail only at connect time. */
export function requireSaslCredentials(
  env: {
    KAFKA_SASL_MECHANISM?: string | undefined;
    KAFKA_SASL_USERNAME?: string | undefined;
    KAFKA_SASL_PASSWORD?: string | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  if (env.KAFKA_SASL_MECHANISM === undefined) return;
  for (const key of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
    if (env[key] === undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: `required when KAFKA_SASL_MECHANISM is set` });
    }
  }
}

/**
 * Parses `env` with `schema`, or throws a ConfigError whose message names every bad variable.
 * The result is frozen: configuration is read once and never changes while the process runs.
 */
export function parseConfig<T extends z.ZodType>(
  schema: T,
  env: Record<string, string | undefined>,
): Readonly<z.output<T>> {
  // Empty strings in a .env file mean "not set", so defaults apply to them too.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const variable = issue.path.join('.') || '(config)';
      return `${variable}: ${issue.message}`;
    });
    const variables = result.error.issues.map((issue) => String(issue.path[0] ?? ''));
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`, variables);
  }
  return Object.freeze(result.data);
}
