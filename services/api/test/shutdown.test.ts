import { Agent, request } from 'node:http';
import { connectMongo } from '@activity-logger/shared';
import { eventually } from '../../../test/support/eventually';
import { testServers, uniqueName } from '../../../test/support/isolation';
import { deleteTopics, readTopic, testKafka } from '../../../test/support/kafka';
import { freePort, startService, waitReady } from '../../../test/support/service-process';
import { testKey } from '../../../test/support/api-keys';

const key = testKey('shutdown', ['ingest']);

/** POSTs one event with a client-chosen eventId over a keep-alive agent; resolves with the status. */
function post(agent: Agent, port: number, eventId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path: '/api/logs',
        method: 'POST',
        headers: { 'content-type': 'application/json', ...key.header },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ userId: 'keep-alive', action: 'Ping', eventId }));
  });
}

describe('api process and SIGTERM', () => {
  const env = {
    API_KEYS: key.line,
    CURSOR_SECRET: 'shutdown-cursor-secret-0123456789',
    KAFKA_BROKERS: testServers().kafkaBrokers.join(','),
    MONGODB_URI: testServers().mongoUri,
    MONGODB_DB: uniqueName('api-stop'),
    KAFKA_TOPIC: uniqueName('api-stop'),
    SHUTDOWN_DELAY_MS: '1500',
  };

  afterAll(async () => {
    // The api created its topic and, with its indexes, the database.
    await deleteTopics([env.KAFKA_TOPIC]);
    const connection = await connectMongo({ uri: env.MONGODB_URI, dbName: env.MONGODB_DB });
    await connection.dropDatabase();
    await connection.close();
  });

  it('fails readiness first, keeps serving for the delay, then drains and exits 0 without cutting off a request it took', async () => {
    const [port, opsPort] = await Promise.all([freePort(), freePort()]);
    const api = startService('api', { ...env, PORT: String(port), HOST: '127.0.0.1', OPS_PORT: String(opsPort) });
    const readyz = `http://127.0.0.1:${opsPort}/readyz`;
    await waitReady(api, readyz);

    // Four clients that keep their connections busy, as a load balancer's pool does.
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const accepted = new Set<string>();
    const otherStatus: number[] = [];
    const failed = new Set<string>();
    let sent = 0;
    let running = true;
    const clients = Array.from({ length: 4 }, async () => {
      while (running && failed.size <= 20) {
        const eventId = `ka-${(sent += 1)}`;
        try {
          const status = await post(agent, port, eventId);
          if (status === 202) accepted.add(eventId);
          else otherStatus.push(status);
        } catch {
          failed.add(eventId); // refused or reset: judged below against what reached Kafka
        }
      }
    });

    await eventually(() => (accepted.size >= 50 ? true : undefined), { what: '50 answers before SIGTERM' });
    const signalledAt = Date.now();
    const exit = api.stop('SIGTERM');

    // Not ready any more, while the public port still takes events.
    const notReady = await eventually(
      async () => {
        const res = await fetch(readyz).catch(() => undefined);
        return res?.status === 503 ? ((await res.json()) as { status: string }) : undefined;
      },
      { timeoutMs: 1000, intervalMs: 20, what: '/readyz to fail after SIGTERM' },
    );
    expect(notReady.status).toBe('draining');
    const acceptedWhileDraining = accepted.size;
    await eventually(() => (accepted.size > acceptedWhileDraining + 10 ? true : undefined), {
      timeoutMs: 1000,
      what: 'more events accepted during the readiness delay',
    });

    const code = await exit;
    const stoppedIn = Date.now() - signalledAt;
    running = false;
    await Promise.all(clients);
    agent.destroy();

    expect({ code, output: code === 0 ? '' : api.output() }).toEqual({ code: 0, output: '' });
    expect(stoppedIn).toBeGreaterThanOrEqual(1500);
    expect(otherStatus).toEqual([]);

    // What the server took reached Kafka; each of those must have been answered 202, and each
    // 202 must be in Kafka. A request that failed on the client side was never taken.
    const kafka = testKafka('api-stop-reader');
    const admin = kafka.admin();
    await admin.connect();
    const total = (await admin.fetchTopicOffsets(env.KAFKA_TOPIC)).reduce((sum, p) => sum + Number(p.high), 0);
    await admin.disconnect();
    const inKafka = new Set(
      (await readTopic(kafka, env.KAFKA_TOPIC, total)).map(
        (record) => (JSON.parse(record.value?.toString() ?? '{}') as { eventId: string }).eventId,
      ),
    );
    expect(inKafka.size).toBe(total);
    expect([...inKafka].filter((eventId) => !accepted.has(eventId))).toEqual([]);
    expect([...accepted].filter((eventId) => !inKafka.has(eventId))).toEqual([]);
    expect([...failed].filter((eventId) => inKafka.has(eventId))).toEqual([]);
  });
});
