/**
 * The base of every error this project throws on purpose. A stable `code` lets callers and the
 * HTTP layer map errors without matching messages; `retriable` says whether the same call may
 * succeed later (a broker that is down) or never will (an invalid event).
 */
export class AppError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A configuration value is missing or malformed; `main.ts` reports it and exits. */
export class ConfigError extends AppError {
  readonly variables: readonly string[];

  constructor(message: string, variables: readonly string[]) {
    super('CONFIG_INVALID', message);
    this.variables = variables;
  }
}
