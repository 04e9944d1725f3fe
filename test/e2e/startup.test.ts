import type { Connection } from 'mongoose';
import { connectMongo } from '@activity-logger/shared';
import { deleteTopics } from '../support/kafka';
import { freePort, startService, waitReady, type ServiceProcess } from '../support/service-process';
import { testKey } from '../support/api-keys';
import { testServers, uniqueName } from '../support/isolation';

/**
 * Issue 6 (4): both services create the topics they need at start, so on a fresh deployment they
 * race to create the same topics; neither may die of it. And a dependency that is not there yet is
 * waited for until a startup deadline, then named in the exit message.
 */
describe('starting up', () => {
  const servers = testServers();
  const key = testKey('startup', ['ingest', 'read']);
  const auth = { API_KEYS: key.line, CURSOR_SECRET: 'startup-cursor-secret-0123456789' };
  const topics: string[] = [];
  const databases: string[] = [];

  afterAll(async () => {
    await deleteTopics(topics);
    for (const dbName of databases) {
      const connection: Connection = await connectMongo({ uri: servers.mongoUri, dbName });
      await connection.dropDatabase();
      await connection.close();
    }
  });

  it('survives the api and the worker creating the same new topics at the same moment, three times over', async () => {
    for (let round = 0; round < 3; round += 1) {
      const topic = uniqueName('race');
      const dbName = uniqueName('race');
      topics.push(topic, `${topic}.dlq`);
      databases.push(dbName);
      const env = {
        KAFKA_BROKERS: servers.kafkaBrokers.join(','),
        MONGODB_URI: servers.mongoUri,
        MONGODB_DB: dbName,
        KAFKA_TOPIC: topic,
        KAFKA_GROUP_ID: uniqueName('race-group'),
      };
      const [apiPort, apiOps, workerOps] = await Promise.all([freePort(), freePort(), freePort()]);
      const both: ServiceProcess[] = [
        startService('api', {
          ...env,
          ...auth,
          PORT: String(apiPort),
          OPS_PORT: String(apiOps),
          SHUTDOWN_DELAY_MS: '0',
        }),
        startService('worker', { ...env, OPS_PORT: String(workerOps) }),
      ];
      try {
        await Promise.all([
          waitReady(both[0] as ServiceProcess, `http://127.0.0.1:${apiOps}/readyz`),
          waitReady(both[1] as ServiceProcess, `http://127.0.0.1:${workerOps}/readyz`),
        ]);
      } finally {
        const codes = await Promise.all(both.map((service) => service.stop()));
        expect({ round, codes }).toEqual({ round, codes: [0, 0] });
      }
    }
  });

  it('waits for an unreachable broker until the startup deadline, then exits 1 naming what it could not reach', async () => {
    const closedPort = await freePort();
    const dbName = uniqueName('unreachable');
    databases.push(dbName);
    const worker = startService('worker', {
      KAFKA_BROKERS: `127.0.0.1:${closedPort}`,
      MONGODB_URI: servers.mongoUri,
      MONGODB_DB: dbName,
      OPS_PORT: String(await freePort()),
      STARTUP_TIMEOUT_MS: '2000',
    });
    const code = await worker.exited();
    expect(code).toBe(1);
    // The fatal line names the step and the cause.
    expect(worker.output()).toMatch(/"reason":"startup failed".*connect to Kafka: KafkaJS\w+/);
  });

  it('takes events while the store is unreachable, and answers queries 503 until it is there', async () => {
    const topic = uniqueName('no-store');
    topics.push(topic);
    const [port, ops, closedPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const api = startService('api', {
      ...auth,
      KAFKA_BROKERS: servers.kafkaBrokers.join(','),
      MONGODB_URI: `mongodb://127.0.0.1:${closedPort}/?serverSelectionTimeoutMS=500`,
      KAFKA_TOPIC: topic,
      PORT: String(port),
      OPS_PORT: String(ops),
      SHUTDOWN_DELAY_MS: '0',
    });
    try {
      await waitReady(api, `http://127.0.0.1:${ops}/readyz`);
      const ready = (await (await fetch(`http://127.0.0.1:${ops}/readyz`)).json()) as { checks: unknown };
      expect(ready.checks).toMatchObject({ kafka: 'ok', mongodb: 'failing' });

      const posted = await fetch(`http://127.0.0.1:${port}/api/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...key.header },
        body: JSON.stringify({ userId: 'u', action: 'Login_While_Store_Down' }),
      });
      expect(posted.status).toBe(202);
      const read = await fetch(`http://127.0.0.1:${port}/api/logs?userId=u`, { headers: key.header });
      expect([read.status, read.headers.get('retry-after')]).toEqual([503, '5']);
      expect(((await read.json()) as { error: { code: string } }).error.code).toBe('STORE_UNAVAILABLE');
    } finally {
      expect(await api.stop()).toBe(0);
    }
  });
});
