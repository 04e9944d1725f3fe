import type { LogDocument } from '@activity-logger/shared';
import { runLiveTail } from './live-tail';
import { decodePosition } from './position';
import type { EventFilters } from '../query/log-reader';
import type { ProgressSnapshot, TailSource } from './tail-source';

function doc(partition: number, offset: number): LogDocument {
  return {
    _id: `s/e-${partition}-${offset}`,
    eventId: `e-${partition}-${offset}`,
    source: 's',
    userId: 'u',
    action: 'a',
    timestamp: new Date(0),
    receivedAt: new Date(0),
    traceId: 't',
    partition,
    offset,
  };
}

/** A log of partitions in memory; `committed` is what the worker has settled. */
class FakeTail implements TailSource {
  reads = 0;
  /** What the filters match (the store applies them before the limit). */
  matches: (doc: LogDocument) => boolean = () => true;
  constructor(
    readonly docs: LogDocument[],
    public committed: Map<number, number>,
  ) {}
  async progress(): Promise<ProgressSnapshot> {
    await Promise.resolve();
    return { committed: new Map(this.committed), completeThrough: undefined };
  }
  async read(partition: number, range: { from: number; below: number }, _filters: EventFilters, limit: number) {
    await Promise.resolve();
    this.reads += 1;
    return this.docs
      .filter((d) => this.matches(d))
      .filter(
        (d) => d.partition === partition && (d.offset as number) >= range.from && (d.offset as number) < range.below,
      )
      .sort((a, b) => (a.offset as number) - (b.offset as number))
      .slice(0, limit);
  }
}

const settings = { pollMs: 1, heartbeatMs: 60_000, batch: 2 };

function collect(until: (events: { id: string; eventId: string }[]) => boolean) {
  const controller = new AbortController();
  const events: { id: string; eventId: string }[] = [];
  const sink = async (chunk: string) => {
    await Promise.resolve();
    const id = /^id: (.*)$/m.exec(chunk)?.[1];
    const data = /^data: (.*)$/m.exec(chunk)?.[1];
    if (chunk.includes('event: log') && id !== undefined && data !== undefined) {
      events.push({ id, eventId: (JSON.parse(data) as { eventId: string }).eventId });
      if (until(events)) controller.abort();
    }
  };
  return { controller, events, sink };
}

describe('runLiveTail', () => {
  it('delivers committed offsets per partition in order, in batches, and stops when aborted', async () => {
    const source = new FakeTail(
      [doc(0, 0), doc(0, 1), doc(0, 2), doc(0, 3), doc(1, 0), doc(1, 1)],
      new Map([
        [0, 3],
        [1, 2],
      ]),
    );
    const { controller, events, sink } = collect((seen) => seen.length === 5);
    await runLiveTail({
      source,
      filters: {},
      start: new Map(),
      settings,
      signal: controller.signal,
      sink,
      onStoreError: () => undefined,
    });
    expect(events.map((e) => e.eventId)).toEqual(['e-0-0', 'e-0-1', 'e-0-2', 'e-1-0', 'e-1-1']);
    // Offset 3 of partition 0 is stored but not committed: not delivered.
    expect(events.at(-1)?.id).toBe('0:3,1:2');
    expect(decodePosition(events[1]?.id as string)).toEqual(new Map([[0, 2]]));
  });

  it('reads a long range in windows of offsets, so a sparse filter scans a bounded range per query', async () => {
    const docs = Array.from({ length: 50 }, (_, i) => doc(0, i));
    const source = new FakeTail(docs, new Map([[0, 50]]));
    const ranges: { from: number; below: number }[] = [];
    const read = source.read.bind(source);
    source.read = (partition, range, filters, limit) => {
      ranges.push(range);
      return read(partition, range, filters, limit);
    };
    source.matches = (d) => d.offset === 45; // a filter that matches one event
    const { controller, events, sink } = collect((seen) => seen.length === 1);
    await runLiveTail({
      source,
      filters: {},
      start: new Map(),
      settings,
      signal: controller.signal,
      sink,
      onStoreError: () => undefined,
    });
    expect(events.map((e) => e.eventId)).toEqual(['e-0-45']);
    expect(ranges.slice(0, 3)).toEqual([
      { from: 0, below: 20 },
      { from: 20, below: 40 },
      { from: 40, below: 50 },
    ]);
  });

  it('waits for the client before reading more (backpressure)', async () => {
    const source = new FakeTail([doc(0, 0), doc(0, 1), doc(0, 2), doc(0, 3)], new Map([[0, 4]]));
    const controller = new AbortController();
    let release: () => void = () => undefined;
    let writes = 0;
    const sink = (chunk: string) => {
      if (!chunk.includes('event: log')) return Promise.resolve();
      writes += 1;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    const running = runLiveTail({
      source,
      filters: {},
      start: new Map(),
      settings,
      signal: controller.signal,
      sink,
      onStoreError: () => undefined,
    });
    for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect([writes, source.reads]).toEqual([1, 1]);
    release();
    for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toBe(2);
    controller.abort();
    release();
    release();
    await running;
  });
});
