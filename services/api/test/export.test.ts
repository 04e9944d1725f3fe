import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { toLogDocument, type ActivityEvent, type StoredEvent } from '@activity-logger/shared';
import { eventually } from '../../../test/support/eventually';
import { createApp } from '../src/app';
import type { ExportQuery, LogExporter } from '../src/query/log-exporter';
import { startTestApi, type TestApi } from './harness';

/** Counts the batches the route pulls from the real exporter, and whether it let go of it. */
function observed(exporter: LogExporter) {
  const seen = { batches: 0, finished: false };
  const wrapped: LogExporter = {
    async *batches(query: ExportQuery, signal: AbortSignal) {
      try {
        for await (const batch of exporter.batches(query, signal)) {
          seen.batches += 1;
          yield batch;
        }
      } finally {
        seen.finished = true;
      }
    },
  };
  return { seen, wrapped };
}

describe('GET /api/logs/export (real store)', () => {
  const COUNT = 2500;
  let api: TestApi;
  const events: ActivityEvent[] = [];

  beforeAll(async () => {
    api = await startTestApi({ views: { export: { batchSize: 100 } } });
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    for (let i = 0; i < COUNT; i += 1) {
      events.push({
        eventId: `exp-${String(i).padStart(5, '0')}`,
        userId: `user-${i % 5}`,
        // Every 50th action is a formula a spreadsheet would run.
        action: i % 50 === 0 ? '=HYPERLINK("http://evil")' : 'Export',
        metadata: { i, note: 'a, "quoted"\nmultiline cell', pad: 'x'.repeat(i % 3 === 0 ? 2000 : 10) },
        // Pairs share a timestamp, so ties are broken by the store key.
        timestamp: new Date(base + Math.floor(i / 2) * 1000),
        receivedAt: new Date(base),
        traceId: `t-${i}`,
        source: i % 2 === 0 ? 'alpha' : 'beta',
      });
    }
    for (let start = 0; start < COUNT; start += 500) {
      await api.model.collection.insertMany(events.slice(start, start + 500).map((e) => toLogDocument(e)) as never[]);
    }
  });
  afterAll(async () => {
    await api.close();
  });

  const storeKey = (e: ActivityEvent) => `${e.source}/${e.eventId}`;
  const oldestFirst = (a: ActivityEvent, b: ActivityEvent) =>
    a.timestamp.getTime() - b.timestamp.getTime() || (storeKey(a) < storeKey(b) ? -1 : 1);

  it('exports every matching event as NDJSON, exactly once each, in (timestamp, _id) order', async () => {
    const res = await api.client.get('/api/logs/export').buffer(true).parse(textParser);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = (res.body as string).split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(COUNT);
    const exported = lines.map((line) => JSON.parse(line) as StoredEvent);
    expect(exported.map((e) => e.eventId)).toEqual([...events].sort(oldestFirst).map((e) => e.eventId));
    expect(exported[0]).toEqual({
      eventId: 'exp-00000',
      userId: 'user-0',
      action: events[0]?.action,
      metadata: events[0]?.metadata,
      timestamp: events[0]?.timestamp.toISOString(),
      receivedAt: events[0]?.receivedAt.toISOString(),
      traceId: 't-0',
      source: 'alpha',
    });

    const filtered = await api.client
      .get('/api/logs/export')
      .query({ userId: 'user-3', source: 'beta', order: 'desc' })
      .buffer(true)
      .parse(textParser);
    const ids = (filtered.body as string)
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as StoredEvent).eventId);
    const expected = events
      .filter((e) => e.userId === 'user-3' && e.source === 'beta')
      .sort(oldestFirst)
      .reverse()
      .map((e) => e.eventId);
    expect(ids).toEqual(expected);
    expect(ids.length).toBe(COUNT / 10);
  });

  it('exports CSV with a header row, RFC 4180 quoting, metadata as JSON and formulas defused', async () => {
    const res = await api.client.get('/api/logs/export').query({ format: 'csv' }).buffer(true).parse(textParser);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const text = res.body as string;
    const rows = parseCsv(text);
    expect(rows[0]).toEqual([
      'eventId',
      'source',
      'userId',
      'action',
      'timestamp',
      'receivedAt',
      'storedAt',
      'traceId',
      'metadata',
    ]);
    expect(rows).toHaveLength(COUNT + 1);
    const first = rows[1] as string[];
    expect(first[0]).toBe('exp-00000');
    expect(first[3]).toBe(`'=HYPERLINK("http://evil")`);
    expect(JSON.parse(first[8] as string)).toEqual(events[0]?.metadata);
    expect(rows.slice(1).filter((row) => row[3]?.startsWith('='))).toHaveLength(0);
  });

  it('refuses bad parameters before streaming, and needs the read scope', async () => {
    const bad = await api.client.get('/api/logs/export').query({ format: 'xml' });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await request(api.app).get('/api/logs/export')).status).toBe(401);
  });

  it('stops reading the store when the client leaves', async () => {
    const { seen, wrapped } = observed(api.views.exporter);
    const { app } = startTestApiWith(api, wrapped);
    const server: Server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      await new Promise<void>((resolve) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path: '/api/logs/export', headers: api.key.header },
          (res) => {
            // The first bytes arrive, then the client hangs up.
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          },
        );
        req.on('error', () => undefined);
        req.end();
      });
      await eventually(() => (seen.finished ? true : undefined), { what: 'the export to let go of its cursor' });
      // 25 batches would be the whole export; one that stopped pulled far fewer.
      expect(seen.batches).toBeLessThan(COUNT / 100);
      expect(api.views.exports.size).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** The same API over another exporter (the observing wrapper). */
function startTestApiWith(api: TestApi, exporter: LogExporter) {
  const app = createApp({ ...api.deps, views: { ...api.views, exporter } });
  return { app };
}

/** The body as text, whatever its type (supertest buffers only text/* and JSON by itself). */
const textParser = ((res: IncomingMessage, done: (error: Error | null, body: string) => void) => {
  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (text += chunk));
  res.on('end', () => done(null, text));
}) as unknown as Parameters<request.Test['parse']>[0];

/** RFC 4180, enough to check the export (quoted fields, doubled quotes, CRLF, newlines in quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else field += char;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}
