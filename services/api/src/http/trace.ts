import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';

// W3C Trace Context: version-traceid-parentid-flags, lowercase hex; all-zero ids are invalid.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The traceId of a request: the caller's W3C trace id, else its X-Request-Id, else a new one. */
export function traceIdFrom(traceparent: string | undefined, requestId: string | undefined): string {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim());
  if (match !== null) {
    const [, version, traceId, parentId] = match as unknown as [string, string, string, string];
    if (version !== 'ff' && !/^0+$/.test(traceId) && !/^0+$/.test(parentId)) return traceId;
  }
  if (requestId !== undefined && REQUEST_ID.test(requestId)) return requestId;
  return randomBytes(16).toString('hex');
}

export const assignTraceId: RequestHandler = (req, res, next) => {
  const traceId = traceIdFrom(req.get('traceparent'), req.get('x-request-id'));
  res.locals.traceId = traceId;
  res.setHeader('X-Trace-Id', traceId);
  next();
};
