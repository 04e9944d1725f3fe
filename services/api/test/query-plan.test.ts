import mongoose, { type Connection } from 'mongoose';
import type { mongo } from 'mongoose';
import { ensureQueryIndexes, logModel, toLogDocument, type ActivityEvent } from '@activity-logger/shared';
import { createLogReader, type LogReader } from '../src/query/log-reader';
import { testServers, uniqueName } from '../../../test/support/isolation';

/**
 * Whether the store answers the reader's own queries from an index: every `find` the reader
 * sends is captured (command monitoring) and given back to the server as `explain`. What "from
 * an index" looks like depends on the server, and each kind is held to what it can do:
 *   - MongoDB: an IXSCAN of the index log-model.ts made for the shape, and no in-memory SORT;
 *   - FerretDB over PostgreSQL (the local stack): the filter pushed down and answered by a bitmap
 *     scan of a GIN index (scripts/stack/postgres/containment-indexes.sql);
 *   - FerretDB over SQLite: only `_id` is pushed down; a userId filter is a full scan.
 */
type Server = 'mongodb' | 'ferretdb-postgresql' | 'ferretdb-sqlite';

describe('query plans of the reader (real store)', () => {
  let connection: Connection;
  let reader: LogReader;
  let server: Server;
  const finds: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(testServers().mongoUri, { dbName: uniqueName('plan'), monitorCommands: true, autoIndex: false })
      .asPromise();
    connection.getClient().on('commandStarted', (event: mongo.CommandStartedEvent) => {
      if (event.commandName === 'find') finds.push(event.command);
    });
    const model = logModel(connection);
    await ensureQueryIndexes(model);
    // Enough rows, and few per user, that PostgreSQL's planner prefers an index to a scan even
    // once autovacuum has analysed the table.
    const events: ActivityEvent[] = Array.from({ length: 3000 }, (_, i) => ({
      eventId: `e-${i}`,
      source: i % 2 === 0 ? 'web' : 'mobile',
      userId: `user-${i % 100}`,
      action: 'view',
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000),
      receivedAt: new Date(),
      traceId: 't',
    }));
    await model.collection.insertMany(events.map((event) => toLogDocument(event)) as never[]);
    reader = createLogReader(model, { timeoutMs: 10_000 });
    server = await serverKind(connection);
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  /** The finds `read` sends, each explained by the server, as JSON text to look into. */
  async function explained(read: () => Promise<unknown>): Promise<string[]> {
    finds.length = 0;
    await read();
    expect(finds.length).toBeGreaterThan(0);
    return Promise.all(
      finds.map(async ({ find, filter, sort, limit }) =>
        JSON.stringify(
          await connection.db!.command({ explain: { find, filter, sort, limit }, verbosity: 'queryPlanner' }),
        ),
      ),
    );
  }

  it('serves a userId page from the userId index', async () => {
    const [plan] = await explained(() => reader.find({ userId: 'user-7', order: 'desc', limit: 5 }));
    if (server === 'mongodb') {
      expect(plan).toContain('"indexName":"userId_timestamp_id"');
      expect(plan).not.toContain('"stage":"SORT"');
    } else if (server === 'ferretdb-postgresql') {
      expect(plan).toContain('"filterPushdown":true');
      expect(plan).toMatch(/Bitmap Index Scan.*_gin|_gin.*Bitmap Index Scan/);
    } else {
      expect(plan).toContain('"filterPushdown":false');
    }
  });

  it('serves GET /api/logs/:eventId from the eventId and _id indexes', async () => {
    const plans = await explained(() => reader.findByEventId('e-42', { limit: 10 }));
    expect(plans).toHaveLength(2);
    const [byEventId, byId] = plans as [string, string];
    if (server === 'mongodb') {
      expect(byEventId).toContain('"indexName":"eventId"');
      expect(byId).toMatch(/IDHACK|EXPRESS|"indexName":"_id_"/);
    } else if (server === 'ferretdb-postgresql') {
      for (const plan of plans) {
        expect(plan).toContain('"filterPushdown":true');
        expect(plan).toMatch(/Bitmap Index Scan.*_gin|_gin.*Bitmap Index Scan/);
      }
    } else {
      expect(byEventId).toContain('"filterPushdown":false');
      expect(byId).toContain('"filterPushdown":true');
    }
  });
});

/** MongoDB, or FerretDB and the backend it names in its startup warnings. */
async function serverKind(connection: Connection): Promise<Server> {
  const admin = connection.db!.admin();
  const info = (await admin.command({ buildInfo: 1 })) as { ferretdbVersion?: string };
  if (info.ferretdbVersion === undefined) return 'mongodb';
  const warnings = (await admin.command({ getLog: 'startupWarnings' })) as { log: unknown[] };
  return JSON.stringify(warnings.log).includes('PostgreSQL') ? 'ferretdb-postgresql' : 'ferretdb-sqlite';
}
