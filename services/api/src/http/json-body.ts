import express, { type RequestHandler } from 'express';
import { HttpError, validationFailed } from './errors';
import { findInexactJson } from './exact-json';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * JSON bodies only, read exactly: anything but `application/json` (or a charset other than
 * UTF-8) is a 415 before a byte is read; a body above `limit` is a 413 (reading stops at the
 * limit); bytes that are not UTF-8 are a 400 rather than being replaced by U+FFFD; and JSON
 * holding what the store would change (see exact-json.ts) is a 400 naming the field.
 */
export function jsonBody(limit: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (!req.is('application/json')) {
      next(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.'));
      return;
    }
    const charset = CHARSET.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      next(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as UTF-8 JSON (charset=utf-8).'));
      return;
    }
    next();
  };
  const parse: RequestHandler = (req, res, next) => {
    const raw: unknown = req.body;
    // What reading this body cost, for the rate limit of a request that is then refused.
    if (Buffer.isBuffer(raw)) res.locals.bodyBytes = raw.length;
    if (!Buffer.isBuffer(raw) || raw.length === 0) {
      next(new HttpError(400, 'MALFORMED_JSON', 'The body is empty; send a JSON object.'));
      return;
    }
    let text: string;
    try {
      text = strictUtf8.decode(raw);
    } catch {
      next(new HttpError(400, 'MALFORMED_JSON', 'The body is not valid UTF-8.'));
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      next(new HttpError(400, 'MALFORMED_JSON', 'The body is not valid JSON.'));
      return;
    }
    const problem = findInexactJson(body);
    if (problem !== undefined) {
      next(validationFailed([problem]));
      return;
    }
    req.body = body;
    next();
  };
  return [requireJson, express.raw({ limit, type: 'application/json' }), parse];
}
