import mongoose, { type Connection } from 'mongoose';

export interface MongoConfig {
  readonly uri: string;
  readonly dbName?: string;
}

/** The MongoDB slice of a parsed service config (see `mongoEnvFields`). */
export function mongoConfigFromEnv(env: { MONGODB_URI: string; MONGODB_DB?: string | undefined }): MongoConfig {
  return env.MONGODB_DB === undefined ? { uri: env.MONGODB_URI } : { uri: env.MONGODB_URI, dbName: env.MONGODB_DB };
}

/**
 * Opens a dedicated connection (not mongoose's global one), so tests and services can hold
 * several and close exactly the one they opened. `mongodb+srv://` URIs work as given.
 */
export async function connectMongo(config: MongoConfig): Promise<Connection> {
  const connection = mongoose.createConnection(config.uri, {
    ...(config.dbName === undefined ? {} : { dbName: config.dbName }),
    // A 10 s default (the driver's is 30 s), unless the URI sets its own.
    ...(/[?&]serverSelectionTimeoutMS=/i.test(config.uri) ? {} : { serverSelectionTimeoutMS: 10_000 }),
    // Indexes are created on purpose by the store at start (see the log store), not lazily.
    autoIndex: false,
    autoCreate: false,
  });
  return connection.asPromise();
}
