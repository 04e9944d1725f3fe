import type { ErrorRequestHandler } from 'express';
import type { z } from 'zod';
import { AppError, type Logger } from '@activity-logger/shared';

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
  readonly index?: number;
}

/** An error with a place in the HTTP contract: status, stable code, and optional details. */
export class HttpError extends AppError {
  readonly status: number;
  readonly details: readonly ErrorDetail[];
  readonly retryAfterSeconds: number | undefined;
  /** Headers the answer must carry (WWW-Authenticate, RateLimit-*). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: {
      details?: readonly ErrorDetail[];
      retryAfterSeconds?: number;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(code, message, { retriable: status === 503 || status === 504 || status === 429, cause: options.cause });
    this.status = status;
    this.details = options.details ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
  }
}

export const validationFailed = (details: readonly ErrorDetail[]) =>
  new HttpError(400, 'VALIDATION_FAILED', 'The request is not valid; see details.', { details });

export const notFound = (what: string) => new HttpError(404, 'NOT_FOUND', `${what} was not found.`);

/** body-parser's own errors carry `type` and `status`; they are mapped here rather than leaked. */
function fromBodyParser(error: unknown): HttpError | undefined {
  const { type, status, limit } = error as { type?: string; status?: number; limit?: number };
  if (type === 'entity.too.large') {
    return new HttpError(413, 'PAYLOAD_TOO_LARGE', `The body is larger than ${limit ?? 'the limit of'} bytes.`);
  }
  if (type === 'entity.parse.failed') return new HttpError(400, 'MALFORMED_JSON', 'The body is not valid JSON.');
  if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send UTF-8 JSON.');
  }
  if (status === 404) return notFound('This file'); // serve-static, for the API reference's assets
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpError(status, 'BAD_REQUEST', 'The request could not be read.');
  }
  return undefined;
}

/** Any error as the HttpError it is answered with. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  return fromBodyParser(error) ?? new HttpError(500, 'INTERNAL', 'Something went wrong on our side.', { cause: error });
}

const REFUSALS = new Set([401, 403, 429]);

/** The one place errors become responses: JSON in the contract's shape, never a stack trace. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const httpError = toHttpError(error);
    const traceId = res.locals.traceId as string | undefined;
    if (req.socket.destroyed) {
      // The client left before its answer (a read it abandoned, say): nothing failed on our side,
      // and a client must not be able to fill the error log by hanging up.
      logger.debug({ traceId, path: req.path, code: httpError.code }, 'client left before the answer');
      res.destroy();
      return;
    }
    if (httpError.status >= 500) {
      logger.error({ err: httpError.cause ?? httpError, traceId, path: req.path }, httpError.message);
    }
    if (res.headersSent) {
      // The answer already started (a client that left mid-response): nothing more can be said.
      res.destroy();
      return;
    }
    if (httpError.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(httpError.retryAfterSeconds));
    // A refused client gets no idle keep-alive connection to hold: otherwise requests without a key
    // could keep every connection slot of the process (HTTP_MAX_CONNECTIONS) taken.
    if (REFUSALS.has(httpError.status)) res.setHeader('Connection', 'close');
    for (const [name, value] of Object.entries(httpError.headers)) res.setHeader(name, value);
    res.status(httpError.status).json({
      error: { code: httpError.code, message: httpError.message, details: httpError.details },
    });
  };
}

/**
 * zod's issues as error details: the path of each (an unknown key named by itself), or `root`
 * when the issue is about the whole query string or body.
 */
export function issueDetails(issues: readonly z.core.$ZodIssue[], root = '(query)'): ErrorDetail[] {
  return issues.map((issue) => ({
    path: [...issue.path, ...(issue.code === 'unrecognized_keys' ? issue.keys : [])].join('.') || root,
    message: issue.message,
  }));
}
