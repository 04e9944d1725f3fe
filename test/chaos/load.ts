import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { AUTH_HEADER } from './services';
import { delay } from './stack';

/** userIds are spread over this many users, so every partition gets traffic. */
const USERS = 600;
const MAX_ATTEMPTS = 8;
const ATTEMPT_TIMEOUT_MS = 10_000;
/** A client gives up on a request that has not been answered 202 within this window. */
const RETRY_WINDOW_MS = 30_000;
/** Past this many requests in flight the generator skips ticks (counted) rather than pile up sockets. */
const MAX_IN_FLIGHT = 400;
const TICK_MS = 100;

/** What the client knows about one event it sent. */
export interface SentEvent {
  readonly seq: number;
  readonly eventId: string;
  readonly userId: string;
  /** The partition the API's murmur2 partitioner puts this userId on. */
  readonly partition: number;
  acked: boolean;
}

/** One answered or failed attempt of one request, for "no 202 while Kafka was down". */
export interface Attempt {
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly outcome: number | 'connection_error' | 'timeout';
}

export interface LoadCounts {
  requests: number;
  attempts: number;
  accepted: number;
  unavailable: number;
  connectionErrors: number;
  timeouts: number;
  /** Other statuses (400, 401, 429, 500…): each is a bug of the suite or the service, named in `statuses`. */
  otherStatuses: number;
  gaveUp: number;
  skippedTicks: number;
  statuses: Record<string, number>;
}

/**
 * The client side of the oracle: sends events at a fixed rate, single POSTs mixed with small batch
 * POSTs, every event with a client-chosen eventId and a client sequence number in its metadata
 * (`chaosSeq`), so what the store holds can be matched to what was sent without relying on the
 * store's unique key. A failed request (503, connection error, timeout) is retried, bounded, with
 * the same eventIds, as the contract allows.
 */
export class LoadGenerator {
  readonly events: SentEvent[] = [];
  readonly attempts: Attempt[] = [];
  readonly counts: LoadCounts = {
    requests: 0,
    attempts: 0,
    accepted: 0,
    unavailable: 0,
    connectionErrors: 0,
    timeouts: 0,
    otherStatuses: 0,
    gaveUp: 0,
    skippedTicks: 0,
    statuses: {},
  };
  /** Marks this run's events in the store (`metadata.chaosRun`). */
  readonly runTag = randomBytes(3).toString('hex');
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly partitionOf: (userId: string) => number;

  constructor(
    private readonly options: {
      /** Read on every attempt: the API's address may change when it is restarted. */
      readonly apiUrl: () => string;
      readonly ratePerSecond: number;
      readonly partitions: number;
      readonly scenario: string;
    },
  ) {
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: options.partitions }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      replicas: [1],
      isr: [1],
      offlineReplicas: [],
      partitionErrorCode: 0,
    }));
    const cache = new Map<string, number>();
    this.partitionOf = (userId) => {
      let partition = cache.get(userId);
      if (partition === undefined) {
        const args: PartitionerArgs = { topic: 't', partitionMetadata, message: { key: userId, value: null } };
        partition = partitioner(args);
        cache.set(userId, partition);
      }
      return partition;
    };
  }

  start(): void {
    this.running = true;
    this.loop = this.generate();
  }

  /** Stops sending new events and waits (bounded by the retry window) for requests in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all([...this.inFlight]);
  }

  get ackedCount(): number {
    return this.events.reduce((n, event) => n + (event.acked ? 1 : 0), 0);
  }

  private async generate(): Promise<void> {
    const perTick = (this.options.ratePerSecond * TICK_MS) / 1000;
    let owed = 0;
    let next = Date.now();
    while (this.running) {
      owed += perTick;
      if (this.inFlight.size >= MAX_IN_FLIGHT) {
        this.counts.skippedTicks += 1;
        owed = 0;
      }
      while (owed >= 1) {
        // Roughly half the events go as single POSTs, the rest in batches of 2–8.
        const size = Math.random() < 0.5 ? 1 : Math.min(Math.floor(owed), 2 + Math.floor(Math.random() * 7));
        owed -= size;
        this.track(this.send(Array.from({ length: Math.max(1, size) }, () => this.newEvent())));
      }
      next += TICK_MS;
      await delay(Math.max(0, next - Date.now()));
    }
  }

  private newEvent(): SentEvent {
    const seq = this.events.length;
    const userId = `user-${String(Math.floor(Math.random() * USERS)).padStart(3, '0')}`;
    const event = {
      seq,
      eventId: `c-${this.runTag}-${seq}`,
      userId,
      partition: this.partitionOf(userId),
      acked: false,
    };
    this.events.push(event);
    return event;
  }

  private track(request: Promise<void>): void {
    this.inFlight.add(request);
    void request.finally(() => this.inFlight.delete(request));
  }

  private async send(events: SentEvent[]): Promise<void> {
    this.counts.requests += 1;
    const bodies = events.map((event) => ({
      eventId: event.eventId,
      userId: event.userId,
      action: 'Chaos_Event',
      metadata: { chaosSeq: event.seq, chaosRun: this.runTag, scenario: this.options.scenario },
    }));
    const single = bodies.length === 1;
    const body = JSON.stringify(single ? bodies[0] : { events: bodies });
    const firstTry = Date.now();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const outcome = await this.attempt(single ? '/api/logs' : '/api/logs/batch', body);
      if (outcome.status === 202) {
        for (const event of events) event.acked = true;
        return;
      }
      // Only "try again later" answers are retried; anything else is a bug to report, not to hide.
      const retriable = outcome.status === 503 || outcome.status === 429 || outcome.status === undefined;
      if (!retriable || Date.now() - firstTry > RETRY_WINDOW_MS) break;
      const backoff = outcome.retryAfterMs ?? Math.min(200 * 2 ** attempt, 3000);
      await delay(Math.min(backoff, 3000) * (0.5 + Math.random() / 2));
    }
    this.counts.gaveUp += 1;
  }

  private async attempt(route: string, body: string): Promise<{ status?: number; retryAfterMs?: number }> {
    this.counts.attempts += 1;
    const sentAt = Date.now();
    try {
      const res = await fetch(`${this.options.apiUrl()}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: AUTH_HEADER },
        body,
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      this.attempts.push({ sentAt, answeredAt: Date.now(), outcome: res.status });
      this.counts.statuses[res.status] = (this.counts.statuses[res.status] ?? 0) + 1;
      if (res.status === 202) this.counts.accepted += 1;
      else if (res.status === 503) this.counts.unavailable += 1;
      else this.counts.otherStatuses += 1;
      const retryAfter = Number(res.headers.get('retry-after'));
      return Number.isFinite(retryAfter) && retryAfter > 0
        ? { status: res.status, retryAfterMs: retryAfter * 1000 }
        : { status: res.status };
    } catch (error) {
      const timedOut = (error as { name?: string }).name === 'TimeoutError';
      this.attempts.push({ sentAt, answeredAt: Date.now(), outcome: timedOut ? 'timeout' : 'connection_error' });
      if (timedOut) this.counts.timeouts += 1;
      else this.counts.connectionErrors += 1;
      return {};
    }
  }
}
