import type { IHeaders, Kafka, Producer } from 'kafkajs';
import { PRODUCER_DEFAULTS } from '@activity-logger/shared';
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

export function createKafkaDeadLetterPublisher(deps: {
  kafka: Kafka;
  config: DeadLetterConfig;
  now?: () => Date;
}): KafkaDeadLetterPublisher {
  const now = deps.now ?? (() => new Date());
  // No auto-creation: the DLQ topic is created at start (ensureTopics), and a misspelt one must fail.
  const producer: Producer = deps.kafka.producer(PRODUCER_DEFAULTS);

  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async publish(letters) {
      if (letters.length === 0) return;
      const failedAt = now();
      try {
        await producer.send({
          topic: deps.config.topic,
          acks: -1,
          messages: letters.map((letter) => toDeadLetterRecord(letter, failedAt)),
        });
      } catch (error) {
        throw new DeadLetterPublishError(`could not publish ${letters.length} dead letter(s)`, error);
      }
    },
  };
}
