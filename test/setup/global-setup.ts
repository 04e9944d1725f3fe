import { provideServers, type Servers } from './servers';

declare global {
  // Handed from global setup to global teardown, which run in the same process.
  var __activityLoggerServers: Servers | undefined;
}

export default async function globalSetup(): Promise<void> {
  const servers = await provideServers(process.env);
  globalThis.__activityLoggerServers = servers;
  // Test workers are forked after this and inherit the environment.
  process.env.KAFKA_BROKERS = servers.kafkaBrokers;
  process.env.MONGODB_URI = servers.mongoUri;
}
