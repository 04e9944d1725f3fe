import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerConfig {
  readonly level: string;
  readonly service: string;
}

/** JSON lines on stdout; `service` is on every line so mixed logs can be told apart. */
export function createLogger(config: LoggerConfig): Logger {
  return pino({
    level: config.level,
    base: { service: config.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
