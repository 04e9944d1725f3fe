import type { StoredLetter } from './letter-store';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as text when they are valid UTF-8; undefined otherwise (then only base64 says them). */
export function utf8Text(bytes: Uint8Array | null | undefined): string | undefined {
  if (bytes === null || bytes === undefined) return undefined;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The driver returns BSON binary as `Binary`; a fake store holds Buffers. Both become bytes. */
export function letterBytes(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  const binary = value as { buffer?: unknown; value?: () => unknown };
  if (binary.buffer instanceof Uint8Array) return Buffer.from(binary.buffer);
  return null;
}

export interface LetterSummary {
  id: string;
  topic: string;
  partition: number;
  offset: number;
  reason: string;
  detail: string;
  failedAt: string;
  state: string;
  eventId?: string;
  source?: string;
  userId?: string;
  traceId?: string;
  receivedAt?: string;
  resolution?: { by: string; at: string; reason?: string };
}

/** A letter in a list: what it is and what became of it, without its bytes. */
export function letterSummary(letter: StoredLetter): LetterSummary {
  const optional = (name: 'eventId' | 'source' | 'userId' | 'traceId') =>
    typeof letter[name] === 'string' ? { [name]: letter[name] } : {};
  return {
    id: letter._id,
    topic: letter.topic,
    partition: letter.partition,
    offset: Number(letter.offset),
    reason: letter.reason,
    detail: letter.detail,
    failedAt: letter.failedAt.toISOString(),
    state: letter.state,
    ...optional('eventId'),
    ...optional('source'),
    ...optional('userId'),
    ...optional('traceId'),
    ...(letter.receivedAt instanceof Date ? { receivedAt: letter.receivedAt.toISOString() } : {}),
    ...(letter.resolution === undefined || letter.resolution === null
      ? {}
      : {
          resolution: {
            by: letter.resolution.by,
            at: letter.resolution.at.toISOString(),
            ...(letter.resolution.reason === undefined ? {} : { reason: letter.resolution.reason }),
          },
        }),
  };
}

/** One letter in full: its original record byte for byte (base64), and as text where it is UTF-8. */
export function letterDetail(letter: StoredLetter) {
  const key = letterBytes(letter.key);
  const value = letterBytes(letter.value);
  const keyText = utf8Text(key);
  const valueText = utf8Text(value);
  return {
    ...letterSummary(letter),
    key: key === null ? null : key.toString('base64'),
    ...(keyText === undefined ? {} : { keyText }),
    value: value === null ? null : value.toString('base64'),
    ...(valueText === undefined ? {} : { valueText }),
    headers: letter.headers ?? {},
  };
}
