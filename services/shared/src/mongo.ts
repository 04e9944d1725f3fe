import mongoose, { type Connection } from 'mongoose';

export interface MongoConfig {
  readonly uri: string;
  readonly dbName?: string;
  readonly socketTimeoutMs?: number;
}

/** The MongoDB slice of a parsed service config (see `mongoEnvFields`). */
export function mongoConfigFromEnv(env: {
  MONGODB_URI: string;
  MONGODB_DB?: string | undefined;
  MONGODB_SOCKET_TIMEOUT_MS: number;
}): MongoConfig {
  return {
    uri: env.MONGODB_URI,
    socketTimeoutMs: env.MONGODB_SOCKET_TIMEOUT_MS,
    ...(env.MONGODB_DB === undefined ? {} : { dbName: env.MONGODB_DB }),
  };
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
    // The driver's default is no socket timeout at all: a half-open connection would hang an
    // operation until the kernel gives up. Operations also carry their own time limits.
    ...(/[?&]socketTimeoutMS=/i.test(config.uri) ? {} : { socketTimeoutMS: config.socketTimeoutMs ?? 30_000 }),
    // Indexes are created on purpose by the store at start (see the log store), not lazily.
    autoIndex: false,
    autoCreate: false,
  });
  return connection.asPromise();
}
