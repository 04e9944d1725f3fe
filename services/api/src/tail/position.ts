/**
 * A live tail's position: for each partition, the next offset to deliver. Said as
 * `<partition>:<offset>` pairs joined by `,` (it is the SSE `id`, so it has no newline); clients
 * treat it as opaque and send it back as `Last-Event-ID`. Unsigned on purpose: a forged position
 * only moves the reader to another part of a log it may read anyway.
 */
export type TailPosition = ReadonlyMap<number, number>;

const MAX_PARTITIONS = 1000;
const PAIR = /^(\d{1,4}):(\d{1,16})$/;

export function encodePosition(position: TailPosition): string {
  return [...position.entries()]
    .sort(([a], [b]) => a - b)
    .map(([partition, offset]) => `${partition}:${offset}`)
    .join(',');
}

/** The position, or undefined when the text is not one this API wrote. */
export function decodePosition(text: string): Map<number, number> | undefined {
  const position = new Map<number, number>();
  if (text === '') return position;
  const pairs = text.split(',');
  if (pairs.length > MAX_PARTITIONS) return undefined;
  for (const pair of pairs) {
    const match = PAIR.exec(pair);
    if (match === null) return undefined;
    const partition = Number(match[1]);
    const offset = Number(match[2]);
    if (!Number.isSafeInteger(offset) || partition >= MAX_PARTITIONS || position.has(partition)) return undefined;
    position.set(partition, offset);
  }
  return position;
}
