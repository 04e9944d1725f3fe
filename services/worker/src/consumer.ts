import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '@activity-logger/shared';
import { backoffDelay, waitWithHeartbeats } from './backoff';
import type { ConsumerConfig } from './config';
import type { ConsumedMessage } from './consumed-message';
import { isRetriable } from './errors';
import type { WorkerMetrics } from './metrics';
import { batchProgress, type ProgressRecorder } from './partition-progress';
import type { MessageOutcome } from './persist-batch';
import type { ProgressTracker } from './progress';

const HEARTBEAT_TICK_MS = 1000;

export interface LogConsumer {
  /** Connects, subscribes and starts consuming; resolves once kafkajs runs (before the group is joined). */
  start(): Promise<void>;
  /** Stops taking batches; a batch in flight finishes or is abandoned uncommitted. Idempotent. */
  stop(): Promise<void>;
  /** Joined a group and not stopping: what /readyz reports for the consumer. */
  isReady(): boolean;
}

export interface LogConsumerDeps {
  readonly kafka: Kafka;
  readonly config: ConsumerConfig;
  readonly persist: (messages: readonly ConsumedMessage[]) => Promise<MessageOutcome[]>;
  readonly logger: Logger;
  readonly metrics: WorkerMetrics;
  /** Told of assignments, batches and commits, so health can tell progress from a stall. */
  readonly progress: ProgressTracker;
  /** Told of every commit, for the partition progress record (the freshness watermark); never waited for. */
  readonly watermark: ProgressRecorder;
  /** The consumer crashed for good (kafkajs will not restart it); main stops and exits non-zero. */
  readonly onFatal: (error: Error) => void;
}

/**
 * A consumer group member that hands each partition batch to `persist` and commits the batch's
 * offsets only after `persist` resolved. Transient failures are retried in place, with backoff and
 * heartbeats, so the partition pauses instead of skipping; nothing is committed meanwhile.
 */
export function createLogConsumer(deps: LogConsumerDeps): LogConsumer {
  const { kafka, config, persist, metrics, progress, onFatal } = deps;
  const logger = deps.logger.child({ component: 'consumer' });
  const consumer = kafka.consumer({
    groupId: config.groupId,
    allowAutoTopicCreation: false,
    // A bounded wait for data keeps shutdown quick when the topic is idle.
    maxWaitTimeInMs: 1000,
    // A dead member's partitions move to the survivors once its session expires: the default
    // 30 s would leave them unconsumed that long. Heartbeats also run during slow writes (below),
    // so a short session does not evict a member that is only busy.
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: config.heartbeatIntervalMs,
    retry: { retries: 5, restartOnFailure },
  });
  const stopping = new AbortController();
  let joined = false;
  /**
   * When each broker's latest fetch started. kafkajs fetches from a broker again only after the
   * batches of its previous fetch were handled, so while a batch is handled its own fetch's start
   * is in here; the earliest start of all is no later than that, which is all a watermark needs.
   */
  const fetchStarts = new Map<number, number>();
  consumer.on(consumer.events.FETCH_START, ({ payload }) => {
    fetchStarts.set(payload.nodeId, Date.now());
  });
  let stopped: Promise<void> | undefined;

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    progress.assigned(config.topic, payload.memberAssignment[config.topic] ?? []);
    logger.info({ groupId: payload.groupId, memberAssignment: payload.memberAssignment }, 'joined the consumer group');
  });
  // Partitions are given up while the group rebalances; the next GROUP_JOIN says which are ours.
  consumer.on(consumer.events.REBALANCING, () => progress.cleared());
  consumer.on(consumer.events.STOP, () => {
    joined = false;
    progress.cleared();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    progress.cleared();
    if (stopping.signal.aborted) return;
    if (payload.restart) {
      logger.warn({ err: payload.error }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    onFatal(payload.error);
  });

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const heartbeat = (): Promise<void> => payload.heartbeat();
    const lastMessage = batch.messages[batch.messages.length - 1];
    if (lastMessage === undefined) return;
    const fetchStartedAt = fetchStarts.size === 0 ? undefined : new Date(Math.min(...fetchStarts.values()));
    const messages: ConsumedMessage[] = batch.messages.map((message) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      key: message.key ?? null,
      value: message.value,
      headers: message.headers ?? {},
    }));
    const shouldAbandon = (): boolean => stopping.signal.aborted || !payload.isRunning() || payload.isStale();
    const where = { topic: batch.topic, partition: batch.partition, firstOffset: batch.firstOffset() };
    progress.batchStarted(batch.topic, batch.partition);

    let outcomes: MessageOutcome[] = [];
    for (let attempt = 0; ; attempt += 1) {
      if (shouldAbandon()) {
        logger.info({ ...where, messages: messages.length }, 'batch abandoned uncommitted; it will be redelivered');
        return;
      }
      // A slow store must not cost the group membership: heartbeat while the write runs too
      // (kafkajs sends at most one per heartbeatInterval however often this asks).
      const ticker = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_TICK_MS);
      try {
        outcomes = await persist(messages);
        break;
      } catch (error) {
        if (!isRetriable(error)) throw error;
        metrics.storeRetries.inc();
        const delayMs = backoffDelay(attempt, config.retry);
        logger.warn({ ...where, err: error, attempt: attempt + 1, delayMs }, 'batch not persisted; retrying');
        await waitWithHeartbeats(delayMs, { heartbeat, shouldAbandon, signal: stopping.signal });
      } finally {
        clearInterval(ticker);
      }
    }

    payload.resolveOffset(lastMessage.offset);
    await asRejoinable(() =>
      consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: String(BigInt(lastMessage.offset) + 1n) },
      ]),
    );
    progress.committed(batch.topic, batch.partition, Number(batch.offsetLag()));
    deps.watermark.record(
      batchProgress({
        topic: batch.topic,
        partition: batch.partition,
        lastOffset: lastMessage.offset,
        highWatermark: batch.highWatermark,
        fetchStartedAt,
        receivedAts: outcomes.flatMap((outcome) => (outcome.kind === 'stored' ? [outcome.receivedAt] : [])),
      }),
    );
    await asRejoinable(heartbeat);
  }

  return {
    async start() {
      await consumer.connect();
      // A new group starts at the beginning: skipping what was produced before it joined would lose events.
      await consumer.subscribe({ topics: [config.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
        eachBatch,
      });
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        joined = false;
        // kafkajs waits for the batches in flight; the retry loop above gives up on `stopping`.
        await consumer.disconnect();
      })();
      return stopped;
    },
    isReady: () => joined && !stopping.signal.aborted,
  };
}

/** Kafka's answers that mean "this member must join the group again", not "something broke". */
const MEMBERSHIP_LOST = new Set([
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'NOT_COORDINATOR_FOR_GROUP',
]);

/**
 * Runs a group request from inside a batch (a commit, a heartbeat). When the broker answers that
 * this member is no longer in the group — after a broker pause longer than the session, say —
 * kafkajs' commit retrier wraps that answer in a non-retriable error, which would crash the
 * consumer for good. Rethrowing the broker's own error lets kafkajs' fetch loop do what it does
 * for it: join the group again. The batch stays uncommitted and is redelivered (duplicates of
 * what was stored are absorbed by the store's unique key).
 */
async function asRejoinable(request: () => Promise<unknown>): Promise<void> {
  try {
    await request();
  } catch (error) {
    for (let current: unknown = error; current instanceof Error; current = current.cause) {
      const { type } = current as { type?: unknown };
      if (typeof type === 'string' && MEMBERSHIP_LOST.has(type)) throw current;
    }
    throw error;
  }
}

/**
 * kafkajs restarts a crashed consumer whenever the failure looks retriable, which includes "the
 * batch handler kept throwing". Only Kafka's own failures deserve a restart; anything else is a
 * bug that would crash again on the same batch, so it is left fatal for main to exit on.
 */
function restartOnFailure(error: Error): Promise<boolean> {
  let root: unknown = error;
  while (root instanceof Error && root.cause !== undefined) root = root.cause;
  return Promise.resolve(root instanceof Error && root.name.startsWith('KafkaJS'));
}
