import { connectMongo } from '@activity-logger/shared';
import { testKey } from '../../../test/support/api-keys';
import { uniqueName, testServers } from '../../../test/support/isolation';
import { deleteTopics } from '../../../test/support/kafka';
import { freePort, startService, waitReady } from '../../../test/support/service-process';
import { eventually } from '../../../test/support/eventually';
import { openSse } from './sse-client';

const key = testKey('tail-stop', ['read']);

/**
 * A live tail stays open for as long as its client likes; the API's drain must end it rather
 * than wait for it (or be cut off only at the last resort, PRODUCE_TIMEOUT_MS later).
 */
describe('api process: live tails and SIGTERM', () => {
  const env = {
    API_KEYS: key.line,
    CURSOR_SECRET: 'stream-stop-cursor-secret-0123456789',
    KAFKA_BROKERS: testServers().kafkaBrokers.join(','),
    MONGODB_URI: testServers().mongoUri,
    MONGODB_DB: uniqueName('api-tail-stop'),
    KAFKA_TOPIC: uniqueName('api-tail-stop'),
    SHUTDOWN_DELAY_MS: '500',
    // Long enough that an exit bounded by it would show: the drain must not wait for it.
    PRODUCE_TIMEOUT_MS: '20000',
    SHUTDOWN_TIMEOUT_MS: '60000',
  };

  afterAll(async () => {
    await deleteTopics([env.KAFKA_TOPIC]);
    const connection = await connectMongo({ uri: env.MONGODB_URI, dbName: env.MONGODB_DB });
    await connection.dropDatabase();
    await connection.close();
  });

  it('ends open streams when it drains, and exits 0 well before the last-resort cut-off', async () => {
    const [port, opsPort] = await Promise.all([freePort(), freePort()]);
    const api = startService('api', { ...env, PORT: String(port), HOST: '127.0.0.1', OPS_PORT: String(opsPort) });
    try {
      await waitReady(api, `http://127.0.0.1:${opsPort}/readyz`);
      // Ready means Kafka is there; queries wait for the store, which is reached in the background.
      const openOne = () =>
        eventually(
          async () => {
            const client = await openSse(`http://127.0.0.1:${port}/api/logs/stream`, key.header);
            if (client.status === 200) return client;
            client.close();
            return undefined;
          },
          { what: 'a live tail to open' },
        );
      const streams = [await openOne(), await openOne()];
      await Promise.all(streams.map((s) => s.waitFor('watermark', 1)));

      const signalledAt = Date.now();
      const code = await api.stop('SIGTERM');
      const stoppedIn = Date.now() - signalledAt;
      await Promise.all(streams.map((s) => s.ended));
      expect({ code, output: code === 0 ? '' : api.output() }).toEqual({ code: 0, output: '' });
      expect(stoppedIn).toBeLessThan(15_000);
    } finally {
      await api.stop('SIGKILL');
    }
  });
});
