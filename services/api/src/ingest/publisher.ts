import { Partitioners, type ICustomPartitioner, type Message, type Producer } from 'kafkajs';
import {
  AppError,
  encodeEvent,
  HEADERS,
  isTooLargeForBroker,
  recordBytes,
  type ActivityEvent,
} from '@activity-logger/shared';

/** Where Kafka put an event, from the broker's acknowledgement. */
export interface EventPlacement {
  readonly partition: number;
  readonly offset: number;
}

/**
 * Hands events to Kafka; resolves only once the broker acknowledged every one with acks=all, with
 * each event's placement at its index (undefined where the acknowledgement did not say).
 */
export interface EventPublisher {
  publish(events: readonly ActivityEvent[], deadline: number): Promise<ReadonlyArray<EventPlacement | undefined>>;
  /** Stops taking events and waits for what is queued or in flight. */
  close(): Promise<void>;
}

export class PublishError extends AppError {
  constructor(code: 'PUBLISH_TIMEOUT' | 'PUBLISH_FAILED' | 'PUBLISHER_CLOSED', message: string, cause?: unknown) {
    super(code, message, { retriable: true, cause });
  }
}

export interface PublisherOptions {
  readonly topic: string;
  readonly lingerMs: number;
  readonly maxBatchBytes: number;
  readonly maxBatchEvents: number;
  /** The broker-side wait for acks=all, also bounding kafkajs' request. */
  readonly ackTimeoutMs: number;
}

export interface PublisherObserver {
  produced(events: number, seconds: number): void;
  failed(events: number, error: unknown): void;
}

/**
 * kafkajs answers a send with one base offset per partition, not per message; the messages of one
 * send to one partition get consecutive offsets in the order they were given. What is missing is
 * which partition each message went to: this partitioner wrapper remembers it, per message object,
 * for the publisher to read back once the send is acknowledged. The producer must be created with
 * its `createPartitioner`.
 */
export interface PartitionRecorder {
  readonly createPartitioner: ICustomPartitioner;
  partitionOf(message: Message): number | undefined;
}

export function recordingPartitioner(base: ICustomPartitioner = Partitioners.DefaultPartitioner): PartitionRecorder {
  const chosen = new WeakMap<Message, number>();
  return {
    createPartitioner: () => {
      const partitioner = base();
      return (args) => {
        const partition = partitioner(args);
        chosen.set(args.message, partition);
        return partition;
      };
    },
    partitionOf: (message) => chosen.get(message),
  };
}

interface Request {
  remaining: number;
  settled: boolean;
  readonly placements: (EventPlacement | undefined)[];
  resolve(): void;
  reject(error: PublishError): void;
}

interface Queued {
  readonly message: Message;
  readonly bytes: number;
  readonly request: Request;
  /** The event's index in its request. */
  readonly index: number;
}

/**
 * Coalesces the events of concurrent HTTP requests into shared produce requests.
 *
 * The first queued event starts a short linger timer; whatever has queued when it fires, or as
 * soon as a size cap is reached, goes out in one `send`. One send is in flight at a time: events
 * that arrive meanwhile queue up and leave together next, so the busier the API, the larger and
 * fewer the produce requests. It also keeps the order of one user's events across requests.
 * A request's events may span several sends (a 1 MiB batch exceeds one produce request's cap);
 * it succeeds when all of them are acknowledged. Past its deadline a request is rejected, and
 * events of it that have not been sent yet are dropped from the queue rather than sent late.
 */
export function createKafkaPublisher(
  producer: Producer,
  options: PublisherOptions,
  observer: PublisherObserver,
  partitions: PartitionRecorder,
): EventPublisher {
  const queue: Queued[] = [];
  let queuedBytes = 0;
  let lingerTimer: NodeJS.Timeout | undefined;
  let sending: Promise<void> | undefined;
  let connected = false;
  let closed = false;

  producer.on(producer.events.CONNECT, () => {
    connected = true;
  });
  producer.on(producer.events.DISCONNECT, () => {
    connected = false;
  });

  function settle(request: Request, error?: PublishError): void {
    if (request.settled) return;
    request.settled = true;
    if (error === undefined) request.resolve();
    else request.reject(error);
  }

  function takeChunk(): Queued[] {
    const chunk: Queued[] = [];
    let bytes = 0;
    while (queue.length > 0) {
      const next = queue[0] as Queued;
      if (next.request.settled) {
        queue.shift();
        queuedBytes -= next.bytes;
        continue;
      }
      if (chunk.length > 0 && (chunk.length >= options.maxBatchEvents || bytes + next.bytes > options.maxBatchBytes)) {
        break;
      }
      queue.shift();
      queuedBytes -= next.bytes;
      chunk.push(next);
      bytes += next.bytes;
    }
    return chunk;
  }

  async function sendChunk(chunk: Queued[]): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      if (!connected) await producer.connect();
      const acknowledged = await producer.send({
        topic: options.topic,
        acks: -1,
        timeout: options.ackTimeoutMs,
        messages: chunk.map((item) => item.message),
      });
      observer.produced(chunk.length, Number(process.hrtime.bigint() - started) / 1e9);
      const nextOffset = new Map<number, number>();
      for (const { topicName, partition, baseOffset } of acknowledged) {
        if (topicName === options.topic) nextOffset.set(partition, Number(baseOffset));
      }
      for (const item of chunk) {
        const partition = partitions.partitionOf(item.message);
        const offset = partition === undefined ? undefined : nextOffset.get(partition);
        if (partition !== undefined && offset !== undefined) {
          item.request.placements[item.index] = { partition, offset };
          nextOffset.set(partition, offset + 1);
        }
        item.request.remaining -= 1;
        if (item.request.remaining === 0) settle(item.request);
      }
    } catch (error) {
      // The byte cap is an estimate; should a broker still find a partition's batch too large
      // (a smaller message.max.bytes, say), halves are sent instead of failing every request.
      if (chunk.length > 1 && isTooLargeForBroker(error)) {
        const half = Math.ceil(chunk.length / 2);
        await sendChunk(chunk.slice(0, half));
        await sendChunk(chunk.slice(half));
        return;
      }
      observer.failed(chunk.length, error);
      const failure = new PublishError('PUBLISH_FAILED', 'Kafka did not acknowledge the events.', error);
      for (const item of chunk) settle(item.request, failure);
    }
  }

  async function drain(): Promise<void> {
    for (let chunk = takeChunk(); chunk.length > 0; chunk = takeChunk()) {
      await sendChunk(chunk);
    }
  }

  function flush(): void {
    if (lingerTimer !== undefined) {
      clearTimeout(lingerTimer);
      lingerTimer = undefined;
    }
    if (sending !== undefined) return; // the running drain picks the queue up when its send ends
    sending = drain().finally(() => {
      sending = undefined;
      // Events queued after the drain's last look but before this ran found `sending` still
      // set and scheduled nothing; they must not wait for their deadline.
      if (queue.length > 0) schedule();
    });
  }

  function schedule(): void {
    if (sending !== undefined) return;
    const full = queuedBytes >= options.maxBatchBytes || queue.length >= options.maxBatchEvents;
    if (full || options.lingerMs === 0) flush();
    else lingerTimer ??= setTimeout(flush, options.lingerMs);
  }

  return {
    publish(events, deadline) {
      if (closed) return Promise.reject(new PublishError('PUBLISHER_CLOSED', 'The API is shutting down.'));
      if (events.length === 0) return Promise.resolve([]);
      return new Promise<ReadonlyArray<EventPlacement | undefined>>((resolve, reject) => {
        const timer = setTimeout(
          () => settle(request, new PublishError('PUBLISH_TIMEOUT', 'Kafka did not acknowledge in time.')),
          Math.max(0, deadline - Date.now()),
        );
        const request: Request = {
          remaining: events.length,
          settled: false,
          placements: new Array<EventPlacement | undefined>(events.length).fill(undefined),
          resolve: () => {
            clearTimeout(timer);
            resolve(request.placements);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        };
        for (const [index, event] of events.entries()) {
          const value = encodeEvent(event);
          const message: Message = {
            key: event.userId,
            value,
            headers: {
              [HEADERS.traceId]: event.traceId,
              [HEADERS.eventId]: event.eventId,
              [HEADERS.contentType]: 'application/json',
            },
          };
          const bytes = recordBytes(message);
          queue.push({ message, bytes, request, index });
          queuedBytes += bytes;
        }
        schedule();
      });
    },

    async close() {
      closed = true;
      flush();
      while (sending !== undefined) await sending;
    },
  };
}
