import type { mongo } from 'mongoose';

/** One query shape, timed through the API and, as its ceiling, as the same query through the driver. */
export interface QueryTiming {
  readonly name: string;
  readonly path: string;
  /** Milliseconds over the repeats. */
  readonly apiMedian: number;
  readonly apiMax: number;
  readonly driverMedian: number;
  readonly status: number;
  readonly rows: number;
}

const PAGE = 50;
/** How many pages deep the "deep cursor page" is, from the newest. */
const DEEP_PAGES = 10;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function timeApi(
  url: string,
  auth: Record<string, string>,
): Promise<{ ms: number; status: number; body: unknown }> {
  const started = performance.now();
  const res = await fetch(url, { headers: auth });
  const body = await res.json();
  return { ms: performance.now() - started, status: res.status, body };
}

async function timeDriver(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * GET through the API at whatever the store holds (100k events in a full run): by id, by user,
 * the newest page and a page DEEP_PAGES pages down by cursor, each `repeats` times. The driver
 * runs the same query shape (filter, sort by timestamp and _id, limit) as the ceiling.
 *
 * This is the API's side; the store's own measurement (index plans, the local store's
 * backends) is bench/store-queries.ts, written separately for issue 9.
 */
export async function measureApiQueries(options: {
  readonly api: string;
  readonly auth: Record<string, string>;
  readonly collection: mongo.Collection<{ _id: string }>;
  /** An eventId that is stored. */
  readonly knownEventId: string;
  readonly userId: string;
  readonly repeats: number;
  readonly onProgress: (text: string) => void;
}): Promise<QueryTiming[]> {
  const { api, auth, collection } = options;
  const newest = { timestamp: -1, _id: -1 } as const;

  // The cursor of the deep page is found once, outside the timing.
  let cursor: string | null = null;
  let lastSeen: { timestamp: string; _id: string } | undefined;
  for (let page = 0; page < DEEP_PAGES; page += 1) {
    options.onProgress(`queries: walking to page ${page + 1} of ${DEEP_PAGES}`);
    const { body } = await timeApi(
      `${api}/api/logs?limit=${PAGE}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      auth,
    );
    const page_ = body as {
      data?: { eventId: string; timestamp: string; source?: string }[];
      nextCursor?: string | null;
    };
    const last = page_.data?.[page_.data.length - 1];
    if (last !== undefined) lastSeen = { timestamp: last.timestamp, _id: `${last.source}/${last.eventId}` };
    cursor = page_.nextCursor ?? null;
    if (cursor === null) break;
  }

  const shapes: { name: string; path: string; driver: () => Promise<unknown> }[] = [
    {
      name: 'by id',
      path: `/api/logs/${options.knownEventId}`,
      driver: () =>
        collection
          .find({ eventId: options.knownEventId } as never)
          .limit(11)
          .toArray(),
    },
    {
      name: 'by user, newest page',
      path: `/api/logs?userId=${options.userId}&limit=${PAGE}`,
      driver: () =>
        collection
          .find({ userId: options.userId } as never)
          .sort(newest)
          .limit(PAGE + 1)
          .toArray(),
    },
    {
      name: 'newest page',
      path: `/api/logs?limit=${PAGE}`,
      driver: () =>
        collection
          .find({})
          .sort(newest)
          .limit(PAGE + 1)
          .toArray(),
    },
    {
      name: `cursor page ${DEEP_PAGES + 1}`,
      path: `/api/logs?limit=${PAGE}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      driver: () => {
        const at = lastSeen === undefined ? new Date() : new Date(lastSeen.timestamp);
        const id = lastSeen?._id ?? '';
        return collection
          .find({ $or: [{ timestamp: { $lt: at } }, { timestamp: at, _id: { $lt: id } }] } as never)
          .sort(newest)
          .limit(PAGE + 1)
          .toArray();
      },
    },
  ];

  const timings: QueryTiming[] = [];
  for (const shape of shapes) {
    const api_: number[] = [];
    const driver: number[] = [];
    let status = 0;
    let rows = 0;
    for (let r = 0; r < options.repeats; r += 1) {
      options.onProgress(`queries: ${shape.name} (${r + 1}/${options.repeats})`);
      const result = await timeApi(`${api}${shape.path}`, auth);
      api_.push(result.ms);
      status = result.status;
      rows = (result.body as { data?: unknown[] }).data?.length ?? 0;
      driver.push(await timeDriver(shape.driver));
    }
    timings.push({
      name: shape.name,
      path: shape.path,
      apiMedian: median(api_),
      apiMax: Math.max(...api_),
      driverMedian: median(driver),
      status,
      rows,
    });
  }
  return timings;
}
