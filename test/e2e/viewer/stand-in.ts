/**
 * ─── TEMPORARY STAND-IN (viewer branch only; delete at the merge of issue 10's API routes) ───
 *
 * The viewer's browser test needs routes that other branches are building: receipts
 * (`GET /api/logs/:eventId/status`), the watermark (`completeThrough`), the live tail
 * (`GET /api/logs/stream`) and the dead-letter admin routes. Until they are merged, this proxy
 * sits between the browser and the real API: it answers those routes the way the contract in
 * the lead's brief says, from the real API's own answers and the real worker's DLQ topic, and
 * passes everything else (the page itself, with its real CSP headers, and every existing route)
 * through untouched. Once the routes exist, viewer.test.ts points the browser at the API itself
 * (STAND_IN = false there) and this file goes.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Consumer, Kafka } from 'kafkajs';
import { uniqueName } from '../../support/isolation';

interface Letter {
  id: string;
  reason: string;
  detail: string;
  failedAt: string;
  state: 'open' | 'replayed' | 'discarded';
  eventId?: string;
  userId?: string;
  source?: string;
  value: Buffer | null;
  resolution?: { by: string; at: string; reason?: string };
}

export interface StandIn {
  readonly url: string;
  /** Every Last-Event-ID the tail sent when it reconnected. */
  readonly resumedFrom: string[];
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  send(res, status, { error: { code, message, details: [] } });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : (JSON.parse(text) as unknown);
}

export async function startStandIn(options: {
  apiUrl: string;
  kafka: Kafka;
  dlqTopic: string;
  /** The admin key's Authorization header; the stand-in refuses dead-letter calls without it. */
  adminAuthorization: string;
  /** An ingest key's Authorization header, to produce replays through the real POST /api/logs. */
  ingestAuthorization: string;
}): Promise<StandIn> {
  const letters = new Map<string, Letter>();
  const resumedFrom: string[] = [];
  const streams = new Set<ServerResponse>();
  const consumer: Consumer = options.kafka.consumer({ groupId: uniqueName('viewer-stand-in'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [options.dlqTopic], fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      const header = (name: string) => message.headers?.[name]?.toString();
      const id = `${header('dlq-source-topic')}:${header('dlq-source-partition')}:${header('dlq-source-offset')}`;
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(message.value?.toString('utf8') ?? '') as Record<string, unknown>;
      } catch {
        // unparseable: no fields to read
      }
      const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
      letters.set(id, {
        id,
        reason: header('dlq-reason') ?? 'unknown',
        detail: header('dlq-detail') ?? '',
        failedAt: header('dlq-failed-at') ?? new Date().toISOString(),
        state: 'open',
        eventId: header('event-id') ?? text(parsed.eventId),
        userId: text(parsed.userId),
        source: text(parsed.source),
        value: message.value,
      });
      return Promise.resolve();
    },
  });

  const api = (path: string, init: RequestInit = {}) => fetch(`${options.apiUrl}${path}`, init);

  /** The contract's completeThrough, approximated: "now" once the real GET answered. */
  const watermark = () => new Date().toISOString();

  async function status(req: IncomingMessage, res: ServerResponse, eventId: string, search: string): Promise<void> {
    const found = await api(`/api/logs/${encodeURIComponent(eventId)}${search}`, {
      headers: { authorization: req.headers.authorization ?? '' },
    });
    if (found.status === 404) {
      send(res, 200, { eventId, state: 'unknown', completeThrough: watermark() });
      return;
    }
    if (!found.ok) {
      res.writeHead(found.status, { 'content-type': 'application/json' });
      res.end(await found.text());
      return;
    }
    const event = (await found.json()) as { source?: string; storedAt?: string; receivedAt: string };
    send(res, 200, {
      eventId,
      ...(event.source === undefined ? {} : { source: event.source }),
      state: 'stored',
      storedAt: event.storedAt ?? event.receivedAt,
      completeThrough: watermark(),
    });
  }

  async function list(req: IncomingMessage, res: ServerResponse, search: string): Promise<void> {
    const page = await api(`/api/logs${search}`, { headers: { authorization: req.headers.authorization ?? '' } });
    const body = (await page.json()) as Record<string, unknown>;
    if (page.ok) body.completeThrough = watermark();
    res.writeHead(page.status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      ...(page.ok ? { 'x-complete-through': String(body.completeThrough) } : {}),
    });
    res.end(JSON.stringify(body));
  }

  /**
   * The tail: polls the real GET oldest-first and sends what it has not sent. Each connection
   * ends once it has sent something, so every test run exercises the viewer's resume with
   * Last-Event-ID (an id is the index of the event in the stand-in's own order).
   */
  async function stream(req: IncomingMessage, res: ServerResponse, search: URLSearchParams): Promise<void> {
    const authorization = req.headers.authorization ?? '';
    const check = await api('/api/logs?limit=1', { headers: { authorization } });
    if (!check.ok) {
      res.writeHead(check.status, { 'content-type': 'application/json' });
      res.end(await check.text());
      return;
    }
    const lastEventId = req.headers['last-event-id'];
    if (typeof lastEventId === 'string') resumedFrom.push(lastEventId);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write(': stand-in\n\n');
    streams.add(res);
    res.on('close', () => streams.delete(res));
    const query = new URLSearchParams(search);
    query.delete('lastEventId');
    query.set('order', 'asc');
    query.set('limit', '500');
    // Without a position, from the moment of connecting, as a tail does.
    const since = Number(lastEventId ?? search.get('lastEventId') ?? Number.NaN);
    const startedAt = new Date(Date.now() - 1000).toISOString();
    let sentThisConnection = 0;
    let known: string[] | undefined;
    while (streams.has(res)) {
      const page = await api(`/api/logs?${query.toString()}`, { headers: { authorization } }).catch(() => undefined);
      if (page?.ok !== true) break;
      const events = ((await page.json()) as { data: { eventId: string; receivedAt: string }[] }).data;
      if (known === undefined) {
        // The stand-in's positions: the index in this oldest-first order; new events only.
        known = events
          .filter((event, index) => (Number.isNaN(since) ? event.receivedAt < startedAt : index <= since))
          .map((event) => event.eventId);
      }
      for (const [index, event] of events.entries()) {
        if (known.includes(event.eventId)) continue;
        known.push(event.eventId);
        res.write(`event: log\nid: ${index}\ndata: ${JSON.stringify(event)}\n\n`);
        sentThisConnection += 1;
      }
      res.write(`event: watermark\ndata: ${JSON.stringify({ completeThrough: watermark() })}\n\n`);
      if (sentThisConnection > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    res.end();
  }

  async function deadLetters(req: IncomingMessage, res: ServerResponse, rest: string[]): Promise<void> {
    if (req.headers.authorization !== options.adminAuthorization) {
      refuse(res, 403, 'FORBIDDEN', 'This API key lacks the "admin" scope.');
      return;
    }
    const [id, action] = rest.map(decodeURIComponent);
    const summary = ({ value: _value, ...letter }: Letter) => letter;
    if (id === undefined && req.method === 'GET') {
      const state = new URL(req.url ?? '/', 'http://x').searchParams.get('state');
      const data = [...letters.values()].filter((letter) => state === null || letter.state === state).map(summary);
      send(res, 200, { data: data.reverse(), nextCursor: null });
      return;
    }
    const letter = id === undefined ? undefined : letters.get(id);
    if (letter === undefined) {
      refuse(res, 404, 'NOT_FOUND', 'The dead letter was not found.');
      return;
    }
    if (action === undefined && req.method === 'GET') {
      const valueText = letter.value?.toString('utf8');
      send(res, 200, { ...summary(letter), value: letter.value?.toString('base64') ?? null, valueText });
      return;
    }
    const body = (await readBody(req)) as { event?: Record<string, unknown>; reason?: string };
    if (action === 'discard' && req.method === 'POST') {
      letter.state = 'discarded';
      letter.resolution = { by: 'admin', at: new Date().toISOString(), reason: body.reason ?? '' };
      send(res, 200, summary(letter));
      return;
    }
    if (action === 'replay' && req.method === 'POST') {
      const original = JSON.parse(letter.value?.toString('utf8') ?? '{}') as Record<string, unknown>;
      const event = body.event ?? {
        userId: original.userId,
        action: original.action,
        metadata: original.metadata,
        timestamp: original.timestamp,
      };
      const posted = await api('/api/logs', {
        method: 'POST',
        headers: { authorization: options.ingestAuthorization, 'content-type': 'application/json' },
        body: JSON.stringify({ ...event, eventId: letter.eventId }),
      });
      if (posted.status !== 202) {
        res.writeHead(posted.status, { 'content-type': 'application/json' });
        res.end(await posted.text());
        return;
      }
      letter.state = 'replayed';
      letter.resolution = { by: 'admin', at: new Date().toISOString() };
      send(res, 202, { status: 'Replayed', statusUrl: `/api/logs/${letter.eventId}/status` });
      return;
    }
    refuse(res, 404, 'NOT_FOUND', 'This route was not found.');
  }

  function proxy(req: IncomingMessage, res: ServerResponse): void {
    const target = new URL(req.url ?? '/', options.apiUrl);
    const upstream = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => refuse(res, 502, 'BAD_GATEWAY', 'The API did not answer.'));
    req.pipe(upstream);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const parts = url.pathname.split('/').filter((part) => part !== '');
    const handle = async (): Promise<void> => {
      if (req.method === 'GET' && url.pathname === '/api/logs') return list(req, res, url.search);
      if (req.method === 'GET' && url.pathname === '/api/logs/stream') return stream(req, res, url.searchParams);
      if (req.method === 'GET' && parts.length === 4 && parts[0] === 'api' && parts[3] === 'status') {
        return status(req, res, decodeURIComponent(parts[2] ?? ''), url.search);
      }
      if (parts[0] === 'api' && parts[1] === 'dead-letters') return deadLetters(req, res, parts.slice(2));
      proxy(req, res);
    };
    handle().catch((error: unknown) => {
      if (!res.headersSent) refuse(res, 500, 'STAND_IN', String(error));
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    resumedFrom,
    async close() {
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await consumer.disconnect();
    },
  };
}
