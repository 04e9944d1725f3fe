import type { IHeaders, Kafka, Producer } from 'kafkajs';
import { chunkByBytes, HEADERS, isTooLargeForBroker, PRODUCER_DEFAULTS, recordBytes } from '@activity-logger/shared';
import type { DeadLetterConfig } from './config';
import type { ConsumedMessage } from './consumed-message';
import { DeadLetterPublishError } from './errors';

/** Why a message went to the DLQ; a stable code for dashboards and for re-drive tooling. */
export type DeadLetterReason = 'unparseable' | 'schema_invalid' | 'store_rejected';

export interface DeadLetter {
  readonly message: ConsumedMessage;
  readonly reason: DeadLetterReason;
  /** Human-readable: the parse error, the schema issues, or the server's code and message. */
  readonly detail: string;
}

export interface DeadLetterPublisher {
  /** Resolves once the DLQ topic acknowledged every letter (acks=all); throws a retriable error otherwise. */
  publish(letters: readonly DeadLetter[]): Promise<void>;
}

export const DLQ_HEADERS = {
  reason: 'dlq-reason',
  detail: 'dlq-detail',
  sourceTopic: 'dlq-source-topic',
  sourcePartition: 'dlq-source-partition',
  sourceOffset: 'dlq-source-offset',
  failedAt: 'dlq-failed-at',
  /** Present only on a letter cut down to fit the broker: the original value's size in bytes. */
  truncated: 'dlq-truncated',
  /** Present only on a letter whose key and headers also had to be cut: the original key's size. */
  truncatedKey: 'dlq-truncated-key',
} as const;

const MAX_DETAIL_CHARS = 1000;

/** The DLQ record: the original key, value and headers untouched, so it can be re-driven as it was. */
export function toDeadLetterRecord(
  letter: DeadLetter,
  failedAt: Date,
): { key: Buffer | null; value: Buffer | null; headers: IHeaders } {
  const { message } = letter;
  const detail =
    letter.detail.length > MAX_DETAIL_CHARS ? `${letter.detail.slice(0, MAX_DETAIL_CHARS)}…` : letter.detail;
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      [DLQ_HEADERS.reason]: letter.reason,
      [DLQ_HEADERS.detail]: detail,
      [DLQ_HEADERS.sourceTopic]: message.topic,
      [DLQ_HEADERS.sourcePartition]: String(message.partition),
      [DLQ_HEADERS.sourceOffset]: message.offset,
      [DLQ_HEADERS.failedAt]: failedAt.toISOString(),
    },
  };
}

export interface KafkaDeadLetterPublisher extends DeadLetterPublisher {
  connect(): Promise<void>;
  /** Closes the producer; called once the consumer stopped, so that no publish is in flight. */
  disconnect(): Promise<void>;
}

type DeadLetterRecord = ReturnType<typeof toDeadLetterRecord>;

/**
 * A letter too large for the broker on its own, cut down to what identifies it: the original
 * key, the DLQ headers (reason, detail, source topic/partition/offset) and the trace id, with the
 * value cut to `valueBytes` (none at all when 0). `dlq-truncated` carries the original value's
 * size, so nobody mistakes the cut value for the original; the full bytes stay readable at the
 * source offset for as long as the source topic retains them.
 */
export function truncateDeadLetterRecord(record: DeadLetterRecord, valueBytes: number): DeadLetterRecord {
  const dlqHeaders = Object.fromEntries(
    Object.entries(record.headers).filter(([name]) => name.startsWith('dlq-') || name === HEADERS.traceId),
  );
  const original = record.value?.length ?? 0;
  return {
    key: record.key,
    value: record.value === null || valueBytes <= 0 ? null : record.value.subarray(0, valueBytes),
    headers: { ...dlqHeaders, [DLQ_HEADERS.truncated]: String(original) },
  };
}

/** The last resort: a key or a trace id can be as large as a record, so both are capped too. */
export function minimalDeadLetterRecord(record: DeadLetterRecord): DeadLetterRecord {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(record.headers)) {
    const text = String(Array.isArray(value) ? value[0] : value);
    headers[name] = text.length > MINIMAL_HEADER_CHARS ? `${text.slice(0, MINIMAL_HEADER_CHARS)}…` : text;
  }
  headers[DLQ_HEADERS.truncatedKey] = String(record.key?.length ?? 0);
  return { key: record.key === null ? null : record.key.subarray(0, MINIMAL_KEY_BYTES), value: null, headers };
}

const MINIMAL_HEADER_CHARS = 256;
const MINIMAL_KEY_BYTES = 256;

/**
 * Publishes dead letters so that they always get out, however many and however large:
 *   - letters are sent in order, in produce requests of at most `maxBatchBytes` (the same
 *     record-size rule as the API's publisher);
 *   - a request the broker still finds too large is split in halves, down to single letters;
 *   - a single letter too large for the broker is cut down (truncateDeadLetterRecord), first to
 *     a part of its value, then to its headers alone, then with its key and headers capped too.
 * "Too large" is never retried as it is, since it can never succeed; any other failure is a
 * retriable DeadLetterPublishError, and the batch is retried by the consumer. Letters already
 * sent when a later request fails are sent again on that retry: the DLQ is at-least-once, and
 * `dlq-source-partition`/`dlq-source-offset` identify a letter.
 */
export function createKafkaDeadLetterPublisher(deps: {
  kafka: Kafka;
  config: DeadLetterConfig;
  now?: () => Date;
}): KafkaDeadLetterPublisher {
  const now = deps.now ?? (() => new Date());
  const { topic, maxBatchBytes } = deps.config;
  // No auto-creation: the DLQ topic is created at start (ensureTopics), and a misspelt one must fail.
  const producer: Producer = deps.kafka.producer(PRODUCER_DEFAULTS);

  async function send(records: DeadLetterRecord[]): Promise<void> {
    try {
      await producer.send({ topic, acks: -1, messages: records });
    } catch (error) {
      if (!isTooLargeForBroker(error)) {
        throw new DeadLetterPublishError(`could not publish ${records.length} dead letter(s)`, error);
      }
      const [only] = records;
      if (records.length > 1 || only === undefined) {
        const half = Math.ceil(records.length / 2);
        await send(records.slice(0, half));
        await send(records.slice(half));
        return;
      }
      const cut = smaller(only);
      if (cut === undefined) {
        throw new DeadLetterPublishError('a dead letter cut down to its headers is still too large', error);
      }
      await send([cut]);
    }
  }

  /** The next smaller form of a letter the broker refused, or undefined when none is left. */
  function smaller(record: DeadLetterRecord): DeadLetterRecord | undefined {
    const truncated = record.headers[DLQ_HEADERS.truncated] !== undefined;
    const valueBytes = record.value?.length ?? 0;
    if (!truncated) return truncateDeadLetterRecord(record, Math.min(valueBytes, TRUNCATED_VALUE_BYTES));
    if (valueBytes > 0) return { ...record, value: null };
    if (record.headers[DLQ_HEADERS.truncatedKey] === undefined) return minimalDeadLetterRecord(record);
    return undefined;
  }

  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async publish(letters) {
      if (letters.length === 0) return;
      const failedAt = now();
      const records = letters.map((letter) => {
        const record = toDeadLetterRecord(letter, failedAt);
        // Known too large before sending: cut it at once rather than after a refusal.
        return recordBytes(record) <= maxBatchBytes
          ? record
          : truncateDeadLetterRecord(record, Math.min(record.value?.length ?? 0, TRUNCATED_VALUE_BYTES));
      });
      for (const chunk of chunkByBytes(records, recordBytes, { maxBytes: maxBatchBytes })) await send(chunk);
    },
  };
}

/** What is kept of a value too large for the broker: enough to see what it was. */
const TRUNCATED_VALUE_BYTES = 64 * 1024;
