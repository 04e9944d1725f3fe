import { Schema, type Connection } from 'mongoose';
import { connectMongo, ensureQueryIndexes, logModel, QUERY_INDEXES } from '../src';
import { testServers, uniqueName } from '../../../test/support/isolation';

describe('MongoDB protocol (real server)', () => {
  let connection: Connection;

  beforeAll(async () => {
    connection = await connectMongo({ uri: testServers().mongoUri, dbName: uniqueName('smoke') });
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  it('enforces a unique index: an unordered insertMany stores the rest and reports 11000 for the duplicate', async () => {
    const Thing = connection.model('Thing', new Schema({ key: { type: String, required: true }, n: Number }));
    await Thing.createCollection();
    await Thing.collection.createIndex({ key: 1 }, { unique: true, name: 'key_unique' });
    const indexes = await Thing.collection.indexes();
    expect(indexes.find((index) => index.name === 'key_unique')?.unique).toBe(true);

    const docs = [
      { key: 'a', n: 1 },
      { key: 'b', n: 2 },
      { key: 'a', n: 3 },
      { key: 'c', n: 4 },
    ];
    const failure: unknown = await Thing.insertMany(docs, { ordered: false }).then(
      () => undefined,
      (error: unknown) => error,
    );

    const writeErrors = (failure as { writeErrors?: Array<{ code?: number; err?: { code?: number }; index: number }> })
      ?.writeErrors;
    expect(writeErrors).toHaveLength(1);
    const [duplicate] = writeErrors ?? [];
    expect(duplicate?.code ?? duplicate?.err?.code).toBe(11000);
    expect(duplicate?.index).toBe(2);

    const stored = await Thing.find({}, { _id: 0, key: 1, n: 1 }).sort({ key: 1 }).lean();
    expect(stored).toEqual([
      { key: 'a', n: 1 },
      { key: 'b', n: 2 },
      { key: 'c', n: 4 },
    ]);
  });

  it('creates the query indexes, and creating them again on the next start is harmless', async () => {
    const model = logModel(connection);
    await ensureQueryIndexes(model);
    await ensureQueryIndexes(model);
    const names = (await model.collection.indexes()).map((index) => index.name);
    expect(names).toEqual(expect.arrayContaining(['_id_', ...QUERY_INDEXES.map((index) => index.name)]));
    await expect(model.db.db?.command({ ping: 1 })).resolves.toMatchObject({ ok: 1 });
  });
});
