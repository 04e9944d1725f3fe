import type { Connection } from 'mongoose';
import { connectMongo, HEADERS } from '@activity-logger/shared';
import { buildViewerIfStale } from '../../services/api/scripts/build-viewer';
import { testKey } from '../support/api-keys';
import { eventually } from '../support/eventually';
import { testServers, uniqueName } from '../support/isolation';
import { deleteTopics, testKafka } from '../support/kafka';
import { freePort, startService, waitReady, type ServiceProcess } from '../support/service-process';
import { openBrowser, type TestBrowser } from './viewer/browser';

/**
 * The viewer in a real browser (Debian's Chromium, driven by playwright-core) against the real
 * API and worker processes over the real Kafka and store: events posted through the API appear
 * in the page, page through, open with their receipt, arrive through the live tail, and a dead
 * letter is replayed with a corrected body by an admin key.
 */
describe('viewer in Chromium: the page against the real API, worker, Kafka and store', () => {
  const servers = testServers();
  const writer = testKey('viewer-writer', ['ingest']);
  const reader = testKey('viewer-reader', ['read']);
  const admin = testKey('viewer-admin', ['read', 'admin']);
  const topic = uniqueName('viewer');
  const env = {
    API_KEYS: [writer.line, reader.line, admin.line].join(','),
    CURSOR_SECRET: 'viewer-cursor-secret-0123456789',
    KAFKA_BROKERS: servers.kafkaBrokers.join(','),
    MONGODB_URI: servers.mongoUri,
    MONGODB_DB: uniqueName('viewer'),
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: uniqueName('viewer-group'),
    // The page asks again on every search and reconnection; the default (100 per 10 s) is for clients.
    RATE_LIMIT_READ_REQUESTS: '100000',
    SHUTDOWN_DELAY_MS: '0',
  };
  // The database is this file's own, so names can read like real ones (the screenshot shows them).
  const user = 'ada.lovelace';
  const journey = [
    'User_Login',
    'Page_View',
    'Item_Added_To_Cart',
    'Checkout_Started',
    'Item_Purchased',
    'User_Logout',
  ];
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let apiPort: number;
  let apiOpsPort: number;
  let apiUrl: string;
  let pageUrl: string;
  let browser: TestBrowser;

  beforeAll(async () => {
    // Built by `npm run build`; a checkout that has not run it yet (or changed the viewer since) builds it here.
    await buildViewerIfStale();
    let workerPort: number;
    [apiPort, apiOpsPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
    apiUrl = `http://127.0.0.1:${apiPort}`;
    worker = startService('worker', { ...env, OPS_PORT: String(workerPort), OPS_HOST: '127.0.0.1' });
    await Promise.all([startApi(), waitReady(worker, `http://127.0.0.1:${workerPort}/readyz`)]);
    pageUrl = `${apiUrl}/viewer/`;
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    const codes = await Promise.all([api?.stop(), worker?.stop()]);
    const connection: Connection = await connectMongo({ uri: servers.mongoUri, dbName: env.MONGODB_DB });
    await connection.dropDatabase();
    await connection.close();
    await deleteTopics([topic, `${topic}.dlq`]);
    expect(codes).toEqual([0, 0]);
  });

  /** The API on its ports (the same ones again after a restart). */
  async function startApi(): Promise<void> {
    api = startService('api', { ...env, PORT: String(apiPort), HOST: '127.0.0.1', OPS_PORT: String(apiOpsPort) });
    await waitReady(api, `http://127.0.0.1:${apiOpsPort}/readyz`);
  }

  /**
   * A record straight onto the topic, in the API's wire format but without the API: while it is
   * down, or one it would refuse. Returns its eventId.
   */
  async function produce(fields: { userId: string; action: string }): Promise<string> {
    const eventId = uniqueName('direct');
    const now = new Date().toISOString();
    const traceId = `trace-${eventId}`;
    const value = { v: 1, eventId, timestamp: now, receivedAt: now, traceId, source: writer.name, ...fields };
    const producer = testKafka('viewer-test').producer();
    await producer.connect();
    try {
      await producer.send({
        topic,
        messages: [
          {
            key: fields.userId,
            value: JSON.stringify(value),
            headers: { [HEADERS.eventId]: eventId, [HEADERS.traceId]: traceId },
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    return eventId;
  }

  async function post(body: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${apiUrl}/api/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...writer.header },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as { eventId: string };
    expect(res.status).toBe(202);
    return answer.eventId;
  }

  const page = () => browser.page;
  const rows = (table: 'events' | 'letters') => page().locator(`#${table}-body tr`);

  /** Waits until a list's search has answered (its message is no longer "Loading…"). */
  async function answered(list: 'events' | 'letters'): Promise<void> {
    await page().locator(`#${list}-message`).filter({ hasNotText: 'Loading…' }).waitFor({ state: 'attached' });
  }

  /** The event ids the events table shows, once a search has answered. */
  async function shownEventIds(): Promise<string[]> {
    await answered('events');
    return rows('events').locator('td.event-id').allTextContents();
  }

  /** Searches until the table shows `count` rows: events take a moment from 202 to the store. */
  async function searchUntil(count: number): Promise<string[]> {
    return eventually(
      async () => {
        await page().locator('#filters button[type=submit]').click();
        const ids = await shownEventIds();
        return ids.length === count ? ids : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `${count} rows in the events table` },
    );
  }

  /** Waits until the live tail lists every one of `eventIds`; returns all it lists, newest first. */
  async function tailShows(eventIds: readonly string[]): Promise<string[]> {
    return eventually(
      async () => {
        const ids = await page().locator('#tail-list li button').allTextContents();
        return eventIds.every((id) => ids.includes(id)) ? ids : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `${eventIds.length} events in the live tail` },
    );
  }

  async function useKey(key: string): Promise<void> {
    await page().locator('#key-input').fill(key);
    await page().locator('#key-form button[type=submit]').click();
    await page().locator('#key-state').filter({ hasText: 'Using key' }).waitFor();
  }

  it('serves the page without a key, under a CSP that allows only its own files', async () => {
    const res = await page().goto(pageUrl);
    expect(res?.status()).toBe(200);
    const csp = (await res?.allHeaders())?.['content-security-policy'] ?? '';
    const directives = csp.split(';').map((directive) => directive.trim());
    expect(directives).toContain("script-src 'self'");
    expect(directives).toContain("default-src 'self'");
    await page().locator('#key-state').filter({ hasText: 'No key yet' }).waitFor();
    // The script ran (it wrote the key prompt) under that policy, and nothing was refused.
    expect(browser.problems).toEqual([]);
  });

  const sent: string[] = [];
  let firstPage: string[] = [];

  it('shows events posted through the API, filtered by user, and pages through them', async () => {
    for (let i = 0; i < 12; i += 1) {
      const action = journey[i % journey.length] as string;
      sent.push(await post({ userId: user, action, metadata: { step: i, page: `/shop/${i}`, plan: 'pro' } }));
    }
    await post({ userId: 'charles.babbage', action: 'User_Login', metadata: { method: 'sso' } });
    await useKey(reader.key);
    await page().locator('#filters input[name=userId]').fill(user);
    await page().locator('#filters select[name=limit]').selectOption('10');

    firstPage = await searchUntil(10);
    expect(await page().locator('#events-page').textContent()).toBe('Page 1');
    await page().locator('#events-next').click();
    await page().locator('#events-page').filter({ hasText: 'Page 2' }).waitFor();
    const secondPage = await shownEventIds();
    expect(secondPage).toHaveLength(2);
    expect(await page().locator('#events-next').isDisabled()).toBe(true);
    // Newest first, every event once, nobody else's.
    expect([...firstPage, ...secondPage]).toEqual([...sent].reverse());

    await page().locator('#events-previous').click();
    await page().locator('#events-page').filter({ hasText: 'Page 1' }).waitFor();
    expect(await shownEventIds()).toEqual(firstPage);
  });

  it('shows the freshness watermark the answers carry', async () => {
    await page().locator('#watermark').filter({ hasText: 'Complete through' }).waitFor({ timeout: 30_000 });
  });

  it('filters by time, and says an empty range behind the watermark is complete, not "not yet"', async () => {
    const to = page().locator('#filters input[name=to]');
    await to.fill('2020-01-01T00:00:00');
    expect(await searchUntil(0)).toEqual([]);
    await page().locator('#events-message', { hasText: 'everything accepted in this range is stored' }).waitFor();
    await to.fill('');
    expect(await searchUntil(10)).toEqual(firstPage);
  });

  it('opens an event with its receipt: stored, and when', async () => {
    const eventId = firstPage[3] as string;
    await rows('events').locator('td.event-id button', { hasText: eventId }).click();
    const dialog = page().locator('#event-dialog');
    await dialog.locator('#event-dialog-title', { hasText: eventId }).waitFor();
    await dialog.locator('#receipt .state-stored').waitFor();
    await dialog.locator('#receipt dt', { hasText: 'Stored at' }).waitFor();
    const stored = JSON.parse((await dialog.locator('#event-json').textContent()) ?? '{}');
    expect(stored).toMatchObject({ eventId, userId: user, source: 'viewer-writer' });
    await dialog.locator('button', { hasText: 'Close' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('turns the live tail on and shows new events as they are stored, each once', async () => {
    await page().locator('#tail-toggle').check();
    await page()
      .locator('#tail-state')
      .filter({ hasText: /^live$/ })
      .waitFor({ timeout: 30_000 });
    // Two rounds: the second must arrive too, after the first, each event once.
    const first: string[] = [];
    for (let i = 0; i < 2; i += 1)
      first.push(await post({ userId: user, action: 'Page_View', metadata: { page: `/docs/${i}` } }));
    await tailShows(first);
    const second: string[] = [];
    for (let i = 2; i < 5; i += 1)
      second.push(await post({ userId: user, action: 'Page_View', metadata: { page: `/docs/${i}` } }));
    const shown = await tailShows(second);
    const live = [...first, ...second];
    // Newest on top, and no event twice across reconnections.
    expect(shown.filter((id) => live.includes(id))).toEqual([...live].reverse());
    expect(new Set(shown).size).toBe(shown.length);
  });

  it('keeps the tail across an API restart, and delivers what was stored while it was away', async () => {
    const before = await post({ userId: user, action: 'Before_Restart' });
    await tailShows([before]);
    expect(await api.stop()).toBe(0);
    await page()
      .locator('#tail-state')
      .filter({ hasNotText: /^live$/ })
      .waitFor({ timeout: 30_000 });
    // Stored while no tail can be connected: a tail that started again from "now" would miss it.
    const during = await produce({ userId: user, action: 'During_Restart' });
    await startApi();
    const shown = await tailShows([during]);
    await page()
      .locator('#tail-state')
      .filter({ hasText: /^live$/ })
      .waitFor({ timeout: 30_000 });
    expect(shown.filter((id) => id === before || id === during)).toEqual([during, before]);
    expect(new Set(shown).size).toBe(shown.length);
  });

  it('takes a screenshot of the viewer with real data (VIEWER_SCREENSHOT=docs/viewer.png)', async () => {
    // Every user's events, the tail still on: the picture in the README.
    await page().locator('#filters input[name=userId]').fill('');
    await page().locator('#filters select[name=limit]').selectOption('25');
    // 12 of the journey, someone else's login, 5 live ones and 2 around the restart.
    const all = await searchUntil(20);
    expect(all).toHaveLength(20);
    // And a few arriving while it is on.
    const arriving = [
      await post({ userId: 'grace.hopper', action: 'User_Login', metadata: { method: 'password' } }),
      await post({ userId: 'grace.hopper', action: 'Item_Purchased', metadata: { sku: 'A-100', amount: 42.5 } }),
    ];
    await tailShows(arriving);
    await page()
      .locator('#tail-state')
      .filter({ hasText: /^live$/ })
      .waitFor();
    const target = process.env.VIEWER_SCREENSHOT;
    if (target !== undefined) await page().screenshot({ path: target });
    expect(browser.problems).toEqual([]);
  });

  it('browses dead letters with an admin key and replays one with a corrected body', async () => {
    // A record the worker cannot store (no userId), as a faulty producer would send it.
    const eventId = await produce({ userId: '', action: 'Broken_Event' });

    // A read key sees the admin view refused, in words.
    await page().locator('#show-letters').click();
    await page().locator('#letters-message').filter({ hasText: 'admin scope' }).waitFor();

    await useKey(admin.key);
    const letter = rows('letters').filter({ hasText: eventId });
    await eventually(
      async () => {
        await page().locator('#letter-filters button[type=submit]').click();
        await answered('letters');
        return (await letter.count()) === 1 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `the dead letter of ${eventId}` },
    );
    expect(await letter.locator('td.reason').textContent()).toBe('schema_invalid');
    await letter.locator('button').click();
    const dialog = page().locator('#letter-dialog');
    await dialog.locator('#letter-value', { hasText: 'Broken_Event' }).waitFor();

    // A correction that is not JSON is caught in the page; a valid one is replayed.
    await dialog.locator('#corrected').fill('{"userId": ');
    await dialog.locator('#replay-corrected').click();
    await dialog.locator('#letter-message', { hasText: 'not JSON' }).waitFor();
    await dialog.locator('#corrected').fill(JSON.stringify({ userId: user, action: 'Repaired_Event' }));
    await dialog.locator('#replay-corrected').click();
    await dialog.locator('#letter-message', { hasText: 'done' }).waitFor();
    await dialog.locator('#letter-facts dd', { hasText: 'replayed' }).first().waitFor();
    expect(await dialog.locator('#replay-corrected').isDisabled()).toBe(true);
    await dialog.locator('button', { hasText: 'Close' }).click();

    // Back under the letter's eventId, stored, and in the events list.
    await page().locator('#show-events').click();
    await page().locator('#filters input[name=action]').fill('Repaired_Event');
    const replayed = await searchUntil(1);
    expect(replayed).toEqual([eventId]);
  });
});
