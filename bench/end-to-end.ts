import { Agent, request } from 'node:http';
import type { mongo } from 'mongoose';
import { storeKey } from '@activity-logger/shared';
import { clientEvent } from './events';

export interface LatencySummary {
  readonly count: number;
  /** Milliseconds; null when nothing was observed. */
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  /** Events never observed before the deadline. */
  readonly missing: number;
}

export interface FixedRateRun {
  readonly rate: number;
  readonly sent: number;
  readonly accepted: number;
  readonly errors: number;
  /** POST → 202, milliseconds. */
  readonly accept: LatencySummary;
}

export interface StoredLatency extends FixedRateRun {
  readonly stored: LatencySummary;
  /**
   * `storedAt`: each document's own storedAt (exact). `counter`: the workers' stored-events
   * counter, polled every COUNTER_POLL_MS, matched in order against the 202s (the k-th event
   * stored against the k-th accepted): no load on the store, exact when the store keeps
   * acceptance order, and never off by more than the reordering within a few batches.
   */
  readonly method: 'storedAt' | 'counter';
}

export interface VisibleLatency extends FixedRateRun {
  readonly visible: LatencySummary;
  readonly sampleEvery: number;
}

interface Accepted {
  readonly eventId: string;
  /** Wall clock (ms since the epoch), comparable with a document's storedAt. */
  readonly acceptedAt: number;
  visibleAt?: number;
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}

function summarise(values: readonly number[], missing: number): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? null,
    missing,
  };
}

/**
 * Keep-alive connections, at most CLIENT_CONNECTIONS of them, as a real client's pool: requests
 * beyond that wait in the client (and that wait counts in the 202 latency). fetch() would open a
 * connection per concurrent request, and a slow moment would then become a connection storm
 * that the API's HTTP_MAX_CONNECTIONS refuses.
 */
const CLIENT_CONNECTIONS = 64;
const agent = new Agent({ keepAlive: true, maxSockets: CLIENT_CONNECTIONS });

function postJson(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers }, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
            });
          } catch (error) {
            reject(error instanceof Error ? error : new Error('unreadable answer'));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const COUNTER_POLL_MS = 25;

export interface FixedRateOptions {
  readonly api: string;
  readonly auth: Record<string, string>;
  readonly rate: number;
  readonly seconds: number;
  readonly action: string;
  readonly onAccepted?: (entry: Accepted) => void;
}

/**
 * Single POSTs paced by the clock, not by answers (a slow answer must not lower the offered
 * rate). Resolves when every request has been answered.
 */
async function postAtRate(options: FixedRateOptions): Promise<{ run: FixedRateRun; accepted: Accepted[] }> {
  const accepted: Accepted[] = [];
  const acceptMs: number[] = [];
  let errors = 0;
  let attempted = 0;
  const inFlight = new Set<Promise<void>>();
  const post = async (i: number): Promise<void> => {
    const started = performance.now();
    try {
      const res = await postJson(
        `${options.api}/api/logs`,
        options.auth,
        JSON.stringify(clientEvent(i, options.action)),
      );
      const body = res.body as { eventId?: string };
      if (res.status !== 202 || body.eventId === undefined) {
        errors += 1;
        return;
      }
      acceptMs.push(performance.now() - started);
      const entry = { eventId: body.eventId, acceptedAt: Date.now() };
      accepted.push(entry);
      options.onAccepted?.(entry);
    } catch {
      errors += 1;
    }
  };
  const started = performance.now();
  const total = Math.round(options.rate * options.seconds);
  while (attempted < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.rate));
    for (; attempted < due; attempted += 1) {
      const request = post(attempted);
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
    await sleep(5);
  }
  await Promise.all(inFlight);
  return {
    run: { rate: options.rate, sent: attempted, accepted: accepted.length, errors, accept: summarise(acceptMs, 0) },
    accepted,
  };
}

/**
 * 202 → stored at a fixed rate, while the store is not queried (a poll of the store would load
 * the server the worker writes to). Call it with the backlog drained: the counter must count
 * only these events.
 */
export async function storedLatency(
  options: FixedRateOptions & {
    readonly storedCounter: () => Promise<number>;
    /** The sending key's name: documents are stored under `<source>/<eventId>`. */
    readonly source: string;
    readonly collection: mongo.Collection<{ _id: string }>;
    readonly settleMs: number;
    readonly onProgress: (text: string) => void;
  },
): Promise<StoredLatency> {
  const base = await options.storedCounter();
  const samples: { at: number; stored: number }[] = [];
  let sending = true;
  let expected = Number.POSITIVE_INFINITY;
  const watcher = (async () => {
    let settleBy = Number.POSITIVE_INFINITY;
    for (;;) {
      const stored = (await options.storedCounter()) - base;
      samples.push({ at: Date.now(), stored });
      options.onProgress(`end to end: ${stored} stored`);
      if (!sending && settleBy === Number.POSITIVE_INFINITY) settleBy = Date.now() + options.settleMs;
      if (stored >= expected || Date.now() > settleBy) return;
      await sleep(COUNTER_POLL_MS);
    }
  })();
  const { run, accepted } = await postAtRate(options);
  expected = run.accepted;
  sending = false;
  await watcher;

  // Exact when the worker records storedAt (issue 10's contract). Looked up by store key, in
  // chunks: a scan of the whole collection would time out on a store without indexes.
  const exact = await exactStoredLatencies(options.collection, options.source, accepted).catch(() => undefined);
  if (exact !== undefined) {
    return { ...run, stored: summarise(exact, run.accepted - exact.length), method: 'storedAt' };
  }

  const order = accepted.map((a) => a.acceptedAt).sort((a, b) => a - b);
  const latencies: number[] = [];
  let sample = 0;
  for (let k = 0; k < order.length; k += 1) {
    while (sample < samples.length && samples[sample]!.stored < k + 1) sample += 1;
    if (sample === samples.length) break;
    latencies.push(Math.max(0, samples[sample]!.at - order[k]!));
  }
  return { ...run, stored: summarise(latencies, run.accepted - latencies.length), method: 'counter' };
}

/**
 * 202 → visible through GET /api/logs/:eventId at a fixed rate, for every `sampleEvery`-th
 * event (one poller: the local store answers a by-id GET with a scan, and more pollers would
 * measure their own load).
 */
export async function visibleLatency(
  options: FixedRateOptions & {
    readonly settleMs: number;
    readonly sampleEvery: number;
    readonly onProgress: (text: string) => void;
  },
): Promise<VisibleLatency> {
  const sampled: Accepted[] = [];
  let count = 0;
  let sending = true;
  const poller = (async () => {
    let settleBy = Number.POSITIVE_INFINITY;
    for (;;) {
      if (!sending && settleBy === Number.POSITIVE_INFINITY) settleBy = Date.now() + options.settleMs;
      const pending = sampled.filter((s) => s.visibleAt === undefined);
      if ((pending.length === 0 && !sending) || Date.now() > settleBy) return;
      options.onProgress(`end to end: ${sampled.length - pending.length} of ${sampled.length} sampled visible`);
      if (pending.length === 0) await sleep(COUNTER_POLL_MS);
      for (const entry of pending) {
        const res = await fetch(`${options.api}/api/logs/${entry.eventId}`, { headers: options.auth }).catch(
          () => undefined,
        );
        await res?.arrayBuffer().catch(() => undefined);
        if (res?.status === 200) entry.visibleAt = Date.now();
      }
    }
  })();
  const { run } = await postAtRate({
    ...options,
    onAccepted: (entry) => {
      if (count++ % options.sampleEvery === 0) sampled.push(entry);
    },
  });
  sending = false;
  await poller;
  const visible = sampled.flatMap((s) => (s.visibleAt === undefined ? [] : [s.visibleAt - s.acceptedAt]));
  return { ...run, visible: summarise(visible, sampled.length - visible.length), sampleEvery: options.sampleEvery };
}

/** storedAt − 202 for every accepted event, or undefined when documents carry no storedAt. */
async function exactStoredLatencies(
  collection: mongo.Collection<{ _id: string }>,
  source: string,
  accepted: readonly Accepted[],
): Promise<number[] | undefined> {
  const first = accepted[0];
  if (first === undefined) return undefined;
  const probe = (await collection.findOne({ _id: storeKey(source, first.eventId) })) as { storedAt?: unknown } | null;
  if (!(probe?.storedAt instanceof Date)) return undefined;
  const latencies: number[] = [];
  for (let i = 0; i < accepted.length; i += 500) {
    const chunk = accepted.slice(i, i + 500);
    const byKey = new Map(chunk.map((a) => [storeKey(source, a.eventId), a.acceptedAt]));
    const docs = (await collection
      .find({ _id: { $in: [...byKey.keys()] } }, { projection: { _id: 1, storedAt: 1 } })
      .toArray()) as unknown as { _id: string; storedAt?: Date }[];
    for (const doc of docs) {
      const acceptedAt = byKey.get(doc._id);
      if (acceptedAt !== undefined && doc.storedAt instanceof Date) {
        latencies.push(Math.max(0, doc.storedAt.getTime() - acceptedAt));
      }
    }
  }
  return latencies;
}
