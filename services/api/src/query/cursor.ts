import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { MAX_TIMESTAMP_MS, MIN_TIMESTAMP_MS } from '@activity-logger/shared';
import type { PagePosition } from './log-reader';

/**
 * Keyset cursors: the (timestamp, store key) of the last event of a page, bound to the query that
 * produced it and signed, so a cursor that was edited, or reused with other filters, is refused
 * instead of silently returning the wrong page. A payload is checked even when signed: a leaked
 * or guessed secret must still not turn into an impossible date and a 500.
 */
const payloadSchema = z.strictObject({
  t: z.number().int().min(MIN_TIMESTAMP_MS).max(MAX_TIMESTAMP_MS),
  // `<source>/<eventId>` (a 64-character name, `/`, a 64-character eventId), or a dead letter's
  // `<topic>:<partition>:<offset>` (a topic name is at most 249 characters).
  id: z.string().min(1).max(300),
  q: z.string(),
});

export class CursorCodec {
  constructor(private readonly secret: string) {}

  encode(position: PagePosition, queryFingerprint: string): string {
    const payload = Buffer.from(
      JSON.stringify({ t: position.timestamp.getTime(), id: position.key, q: queryFingerprint }),
    ).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The position, or undefined when the cursor is malformed, forged or from another query. */
  decode(cursor: string, queryFingerprint: string): PagePosition | undefined {
    const [payload, signature, extra] = cursor.split('.');
    if (payload === undefined || signature === undefined || extra !== undefined) return undefined;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const parsed = payloadSchema.safeParse(json);
    if (!parsed.success || parsed.data.q !== queryFingerprint) return undefined;
    return { timestamp: new Date(parsed.data.t), key: parsed.data.id };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url').slice(0, 22);
  }
}

/** What a cursor is bound to: every filter and the order, but not the page size. */
export function fingerprint(query: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(query)).digest('base64url').slice(0, 16);
}
