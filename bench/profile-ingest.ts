/**
 * `tsx bench/profile-ingest.ts DIR [single|batch] [seconds]`: one API process under one load,
 * with a V8 CPU profile written into DIR when it stops, for bench/profile-top.ts. The bench's
 * full run mixes every load into one profile; this isolates the path being tuned.
 */
import path from 'node:path';
import { createKafka, createLogger, ensureTopics } from '@activity-logger/shared';
import { testKey } from '../test/support/api-keys';
import { uniqueName } from '../test/support/isolation';
import { clientEvent } from './events';
import { postLoad } from './http-load';
import { startUsage } from './proc-usage';
import { startApi } from './services';

async function main(): Promise<void> {
  const [dir, load = 'single', seconds = '10'] = process.argv.slice(2);
  if (dir === undefined) throw new Error('usage: tsx bench/profile-ingest.ts DIR [single|batch] [seconds]');
  const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  const key = testKey('bench', ['ingest', 'read']);
  const topic = uniqueName('bench-profile');
  const kafka = createKafka(
    { brokers: brokers.split(','), clientId: 'bench', ssl: false },
    createLogger({ level: 'fatal', service: 'bench' }),
  );
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 6 }]);
  const api = await startApi(
    {
      NODE_ENV: 'production',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      KAFKA_BROKERS: brokers,
      MONGODB_URI: process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017',
      MONGODB_DB: topic,
      KAFKA_TOPIC: topic,
      API_KEYS: key.line,
      CURSOR_SECRET: 'bench-cursor-secret-0123456789',
      RATE_LIMIT_INGEST_EVENTS: '100000000',
    },
    1,
    ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`],
  );
  try {
    const single = load === 'single';
    const url = `http://127.0.0.1:${api.port}/api/logs${single ? '' : '/batch'}`;
    const body = JSON.stringify(
      single ? clientEvent(1) : { events: Array.from({ length: 500 }, (_, i) => clientEvent(i)) },
    );
    await postLoad({ url, body, headers: key.header, connections: 10, seconds: 1 });
    const usage = startUsage([api.pid]);
    const result = await postLoad({
      url,
      body,
      headers: key.header,
      connections: single ? 50 : 4,
      seconds: Number(seconds),
    });
    const cpu = usage();
    const events = result.ok * (single ? 1 : 500);
    console.log(
      `${load}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ` +
        `errors ${result.errors + result.non2xx}, ${((cpu.cpuSeconds / events) * 1000).toFixed(3)} CPU-s/1k events`,
    );
  } finally {
    await api.stop();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
