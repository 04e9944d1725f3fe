import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  partitionProgressModel,
  progressId,
  toLogDocument,
  type ActivityEvent,
  type PartitionProgressModel,
} from '@activity-logger/shared';
import { testKey } from '../../../test/support/api-keys';
import { eventually } from '../../../test/support/eventually';
import { startTestApi, type TestApi } from './harness';
import { openSse, type SseClient, type SseMessage } from './sse-client';

/**
 * The live tail against the real store. Until the worker records placement and progress (the
 * delivery branch), this test writes what the worker will: events with partition/offset, and
 * partition_progress. Each write is what the worker does after a commit, in the same order
 * (events first, then the committed offset), so the test holds once the worker writes them itself.
 */
describe('GET /api/logs/stream (real store)', () => {
  const second = testKey('tail-two', ['read']);
  let api: TestApi;
  let server: Server;
  let base: string;
  let progress: PartitionProgressModel;
  const open: SseClient[] = [];
  let sequence = 0;

  beforeAll(async () => {
    api = await startTestApi({
      keys: [second],
      views: { tail: { pollMs: 50, heartbeatMs: 1000 }, limits: { perKey: 3 } },
    });
    progress = partitionProgressModel(api.connection);
    server = api.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await api.close();
  });

  async function connect(query = '', headers: Record<string, string> = {}, key = api.key): Promise<SseClient> {
    const client = await openSse(`${base}/api/logs/stream${query}`, { ...key.header, ...headers });
    open.push(client);
    return client;
  }

  /** Stores events at these offsets of a partition, as the worker does before it commits. */
  async function store(partition: number, offsets: number[], user = 'tail-user'): Promise<ActivityEvent[]> {
    const events = offsets.map((offset) => {
      sequence += 1;
      return {
        eventId: `p${partition}-o${offset}-${sequence}`,
        userId: user,
        action: 'Tail',
        timestamp: new Date(),
        receivedAt: new Date(),
        traceId: `t-${sequence}`,
        source: 'test-client',
      };
    });
    await api.model.collection.insertMany(
      events.map((event, i) =>
        toLogDocument(event, { partition, offset: offsets[i] as number, storedAt: new Date() }),
      ) as never[],
    );
    return events;
  }

  async function commit(partition: number, committedOffset: number, caughtUpThrough?: Date) {
    await progress.collection.updateOne(
      { _id: progressId(api.topic, partition) as never },
      {
        $set: {
          topic: api.topic,
          partition,
          committedOffset,
          updatedAt: new Date(),
          ...(caughtUpThrough === undefined ? {} : { caughtUpThrough }),
        },
      },
      { upsert: true },
    );
  }

  const ids = (messages: SseMessage[]) => messages.map((m) => (m.data as { eventId: string }).eventId);

  it('starts at now, delivers only what is committed, per partition in offset order, and resumes without gaps or repeats', async () => {
    const old = await store(0, [0, 1]);
    await commit(0, 2);
    await commit(1, 0);
    const tail = await connect();
    expect(tail.status).toBe(200);
    expect(tail.headers['content-type']).toMatch(/^text\/event-stream/);
    await tail.waitFor('watermark', 1);

    const p0 = await store(0, [2, 3, 4]);
    const p1 = await store(1, [0, 1]);
    // Offset 4 of partition 0 is stored but not committed: an unordered bulk write may still be
    // filling the offsets below it, so it is not delivered yet.
    await commit(0, 4);
    await commit(1, 2);
    const firstFour = await tail.waitFor('log', 4);
    const delivered = ids(firstFour);
    expect(delivered.filter((id) => id.startsWith('p0-'))).toEqual(ids2(p0.slice(0, 2)));
    expect(delivered.filter((id) => id.startsWith('p1-'))).toEqual(ids2(p1));
    expect(delivered).not.toContain(old[0]?.eventId);
    expect(delivered).not.toContain(p0[2]?.eventId);

    // The client goes away after the fourth event; more is committed while it is away.
    const lastId = firstFour[3]?.id as string;
    tail.close();
    await commit(0, 5);
    const later = await store(1, [2, 3]);
    await commit(1, 4);

    const resumed = await connect('', { 'Last-Event-ID': lastId });
    const rest = await resumed.waitFor('log', 3);
    expect(ids(rest).sort()).toEqual([p0[2]?.eventId, ...ids2(later)].sort());
    expect(ids(rest).filter((id) => id.startsWith('p1-'))).toEqual(ids2(later));
    // The same resume through the query parameter (for clients that cannot set headers).
    const again = await connect(`?lastEventId=${encodeURIComponent(lastId)}`);
    expect(ids(await again.waitFor('log', 3))).toEqual(ids(rest));
  });

  it('applies the filters of GET /api/logs, and replays from the beginning of every partition with `from`', async () => {
    await commit(2, 0);
    const mine = await connect('?userId=only-me');
    await mine.waitFor('watermark', 1);
    await store(2, [0], 'someone-else');
    const wanted = await store(2, [1], 'only-me');
    await commit(2, 2);
    expect(ids(await mine.waitFor('log', 1))).toEqual(ids2(wanted));

    const history = await connect(`?userId=only-me&from=${encodeURIComponent(new Date(0).toISOString())}`);
    expect(ids(await history.waitFor('log', 1))).toEqual(ids2(wanted));
  });

  it('sends the watermark and heartbeats, and refuses a position it did not write', async () => {
    const through = new Date('2026-03-04T05:06:07.000Z');
    await Promise.all([commit(0, 5, through), commit(1, 4, new Date()), commit(2, 2, new Date())]);
    const tail = await connect();
    expect(tail.headers['x-complete-through']).toBe(through.toISOString());
    await eventually(
      () =>
        tail.messages.find(
          (m) =>
            m.event === 'watermark' &&
            JSON.stringify(m.data) === JSON.stringify({ completeThrough: through.toISOString() }),
        ),
      { what: 'the watermark' },
    );
    // Partition 0 catches up later: the watermark moves on the open stream.
    const moved = new Date('2026-03-04T06:00:00.000Z');
    await commit(0, 5, moved);
    await eventually(
      () =>
        tail.messages.find(
          (m) =>
            m.event === 'watermark' && (m.data as { completeThrough: string }).completeThrough === moved.toISOString(),
        ),
      { what: 'the watermark to move' },
    );
    await eventually(() => (tail.comments.includes('heartbeat') ? true : undefined), { what: 'a heartbeat' });

    const forged = await connect('', { 'Last-Event-ID': 'not-a-position' });
    expect(forged.status).toBe(400);
  });

  it('caps open streams per key, and ends every stream when the API shuts down', async () => {
    const held = [await connect(), await connect(), await connect()];
    const refused = await connect();
    expect(refused.status).toBe(429);
    const other = await connect('', {}, second);
    expect(other.status).toBe(200);
    // A client that leaves gives its slot back.
    held[0]?.close();
    await expectEventually(async () => (await connect()).status === 200);

    api.views.streams.closeAll();
    await Promise.all(open.filter((c) => c.status === 200).map((c) => c.ended));
    expect(api.views.streams.size).toBe(0);
  });
});

function ids2(events: (ActivityEvent | undefined)[]): string[] {
  return events.map((event) => event?.eventId as string);
}

async function expectEventually(probe: () => Promise<boolean>): Promise<void> {
  await eventually(async () => ((await probe()) ? true : undefined), { what: 'a free stream slot' });
}
