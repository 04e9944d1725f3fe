import { randomFillSync } from 'node:crypto';
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
  return newTraceId();
}

/**
 * 16 random bytes as hex, cut from a 4 KiB pool filled by the same CSPRNG: one crypto call per
 * 256 ids instead of one per request (randomBytes per request was 2.4% of the API's CPU under
 * single POSTs; see docs/performance.md).
 */
const TRACE_ID_BYTES = 16;
const pool = Buffer.alloc(TRACE_ID_BYTES * 256);
let poolOffset = pool.length;

function newTraceId(): string {
  if (poolOffset + TRACE_ID_BYTES > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const id = pool.toString('hex', poolOffset, poolOffset + TRACE_ID_BYTES);
  poolOffset += TRACE_ID_BYTES;
  return id;
}

export const assignTraceId: RequestHandler = (req, res, next) => {
  const traceId = traceIdFrom(req.get('traceparent'), req.get('x-request-id'));
  res.locals.traceId = traceId;
  res.setHeader('X-Trace-Id', traceId);
  next();
};
