import express, { type RequestHandler } from 'express';
import { HttpError } from './errors';

/**
 * JSON bodies only: anything else is a 415 before a byte is parsed, and a body above `limit` is a
 * 413 (body-parser stops reading at the limit, so an oversized body costs no more than that).
 */
export function jsonBody(limit: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (!req.is('application/json')) {
      next(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.'));
      return;
    }
    next();
  };
  return [requireJson, express.json({ limit, strict: true, type: 'application/json' })];
}
