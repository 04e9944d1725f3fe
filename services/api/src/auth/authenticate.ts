import type { RequestHandler, Response } from 'express';
import { HttpError } from '../http/errors';
import type { ApiKeyIdentity, KeyRing, Scope } from './api-keys';

/**
 * One answer for a missing, malformed, unknown or revoked key, so that the answer tells a
 * caller nothing about which of these it was.
 */
export const unauthenticated = () =>
  new HttpError(401, 'UNAUTHENTICATED', 'Send a valid API key as "Authorization: Bearer <key>".', {
    headers: { 'WWW-Authenticate': 'Bearer realm="activity-logger"' },
  });

/** When auth is disabled (local development only) every caller is this, with every scope. */
const ANONYMOUS: ApiKeyIdentity = { name: 'anonymous', scopes: new Set<Scope>(['ingest', 'read', 'admin']) };

const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Identifies the caller from `Authorization: Bearer <key>` and keeps only its name and scopes
 * (`res.locals.caller`). `keys` undefined means auth is disabled; then events carry no source.
 */
export function authenticate(keys: KeyRing | undefined): RequestHandler {
  return (req, res, next) => {
    if (keys === undefined) {
      res.locals.caller = ANONYMOUS;
      next();
      return;
    }
    const match = BEARER.exec(req.get('authorization') ?? '');
    const caller = match === null ? undefined : keys.identify(match[1] as string);
    if (caller === undefined) {
      next(unauthenticated());
      return;
    }
    res.locals.caller = caller;
    next();
  };
}

/** The caller of an authenticated request. */
export function callerOf(res: Response): ApiKeyIdentity {
  const caller = res.locals.caller as ApiKeyIdentity | undefined;
  // Reaching a route without authenticate() in front of it is a wiring bug, not a client error.
  if (caller === undefined) throw new Error('route reached without authentication');
  return caller;
}

/** The name to record as an event's source: none when auth is disabled. */
export function sourceOf(res: Response): string | undefined {
  const caller = callerOf(res);
  return caller === ANONYMOUS ? undefined : caller.name;
}

/** 403 for a known key without the scope a route needs. */
export function requireScope(scope: Scope): RequestHandler {
  return (_req, res, next) => {
    if (!callerOf(res).scopes.has(scope)) {
      next(new HttpError(403, 'FORBIDDEN', `This API key lacks the "${scope}" scope.`));
      return;
    }
    next();
  };
}
