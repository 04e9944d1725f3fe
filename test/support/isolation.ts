import { randomBytes } from 'node:crypto';

/**
 * A name no other test file uses, for topics, consumer groups and databases, so that one stack
 * serves a whole run and test files can run in parallel. Valid as a Kafka topic and as a
 * MongoDB/FerretDB database name (letters, digits, `_` and `-`, at most 63 characters).
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** The servers chosen by the global setup. */
export function testServers(): { kafkaBrokers: string[]; mongoUri: string } {
  const brokers = process.env.KAFKA_BROKERS;
  const mongoUri = process.env.MONGODB_URI;
  if (!brokers || !mongoUri) {
    throw new Error('KAFKA_BROKERS and MONGODB_URI are unset: run integration tests through jest (global setup).');
  }
  return { kafkaBrokers: brokers.split(','), mongoUri };
}
