/**
 * The answers the viewer reads, as the API's contract gives them (README "The API", issue 10).
 * Only the fields the page shows; anything else in an answer is ignored.
 */

export interface StoredEvent {
  eventId: string;
  userId: string;
  action: string;
  metadata?: Record<string, unknown>;
  timestamp: string;
  receivedAt: string;
  traceId: string;
  source?: string;
  storedAt?: string;
}

export interface EventPage {
  data: StoredEvent[];
  nextCursor: string | null;
  /** Up to when the whole log is stored; null while some partition was never seen caught up. */
  completeThrough?: string | null;
}

export type ReceiptState = 'stored' | 'dead_lettered' | 'pending' | 'removed' | 'unknown';

export interface Receipt {
  eventId: string;
  source?: string;
  state: ReceiptState;
  storedAt?: string;
  deadLetter?: { id: string; reason: string; detail: string; failedAt: string; state: string };
  pending?: { partition: number; offset: number | string; ahead: number };
  completeThrough?: string | null;
}

export interface DeadLetterSummary {
  id: string;
  reason: string;
  detail: string;
  failedAt: string;
  state: 'open' | 'replayed' | 'discarded';
  topic?: string;
  partition?: number;
  offset?: number;
  eventId?: string;
  source?: string;
  userId?: string;
  traceId?: string;
  resolution?: { by: string; at: string; reason?: string };
}

export interface DeadLetter extends DeadLetterSummary {
  /** The original value, base64. */
  value: string | null;
  /** The original value as text, when it is UTF-8. */
  valueText?: string;
  headers?: Record<string, string>;
}

export interface DeadLetterPage {
  data: DeadLetterSummary[];
  nextCursor: string | null;
}

/** The error body every refusal carries. */
export interface ErrorBody {
  error?: { code?: string; message?: string; details?: { path: string; message: string }[] };
}
