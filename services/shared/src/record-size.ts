import type { Message } from 'kafkajs';

/**
 * One rule, used by every producer in the project, for how large a produce request may grow.
 *
 * Kafka refuses a partition's record batch above the broker's `message.max.bytes` (about 1 MB by
 * default) with MESSAGE_TOO_LARGE. kafkajs does not split for us, so each producer caps its sends
 * by an estimate of the records' size, and halves a send the broker still finds too large.
 */
export const DEFAULT_MAX_BATCH_BYTES = 900_000;

/**
 * An upper estimate of a record's size in a Kafka record batch: key, value and headers, plus the
 * record's own framing (length, attributes, deltas and per-header lengths as varints).
 */
export function recordBytes(message: Pick<Message, 'key' | 'value' | 'headers'>): number {
  let bytes = 40 + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const single of values) bytes += 10 + Buffer.byteLength(name) + byteLength(single);
  }
  return bytes;
}

function byteLength(value: string | Buffer | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/**
 * Splits `items` in order into runs of at most `maxBytes` (by `bytesOf`) and `maxCount` items. An
 * item larger than `maxBytes` on its own still forms a run of one: the caller decides what to do
 * with it (the broker may take it, or it must be cut down).
 */
export function chunkByBytes<T>(
  items: readonly T[],
  bytesOf: (item: T) => number,
  limits: { maxBytes: number; maxCount?: number },
): T[][] {
  const maxCount = limits.maxCount ?? Number.POSITIVE_INFINITY;
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = bytesOf(item);
    if (current.length > 0 && (current.length >= maxCount || bytes + size > limits.maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Whether a send failed because a batch or record was over the broker's size limit. kafkajs
 * reports it as a protocol error (MESSAGE_TOO_LARGE, or RECORD_LIST_TOO_LARGE), sometimes wrapped
 * in a retry error's `cause` or a list of `errors`. Retrying the same send can never succeed.
 */
export function isTooLargeForBroker(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const { type } = current as { type?: string };
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
    const { errors } = current as { errors?: unknown[] };
    if (Array.isArray(errors) && errors.some(isTooLargeForBroker)) return true;
  }
  return false;
}
