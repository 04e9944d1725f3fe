import type { IHeaders } from 'kafkajs';

/** One Kafka record as the batch logic sees it: the bytes as they arrived, and where they came from. */
export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders;
}

/** The first value of a header as text, or undefined when absent. */
export function headerText(headers: IHeaders, name: string): string | undefined {
  const raw = headers[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  return first === undefined ? undefined : first.toString();
}
