import { mongo } from 'mongoose';
import { classifyWriteFailure } from './event-writer';
import { StoreUnavailableError } from './errors';

/** A MongoBulkWriteError as the driver builds it for an unordered insert with per-document errors. */
function bulkError(writeErrors: { index: number; code: number; errmsg: string }[]): mongo.MongoBulkWriteError {
  const result = {
    insertedCount: 0,
    getWriteConcernError: () => undefined,
    getWriteErrors: () => writeErrors,
  } as unknown as mongo.BulkWriteResult;
  const error = new mongo.MongoBulkWriteError(
    { message: 'write errors', code: writeErrors[0]?.code ?? 1, writeErrors: writeErrors as never },
    result,
  );
  // The driver's WriteError is not exported; what the classification reads is index, code, errmsg.
  Object.defineProperty(error, 'writeErrors', { value: writeErrors });
  return error;
}

describe('classifyWriteFailure', () => {
  it('counts a duplicate key as already stored and dead-letters a known permanent refusal', () => {
    const results = classifyWriteFailure(
      bulkError([
        { index: 0, code: 11000, errmsg: 'E11000 duplicate key' },
        { index: 2, code: 2, errmsg: 'nested arrays are not supported' },
      ]),
      3,
    );
    expect(results).toEqual([
      { kind: 'duplicate' },
      { kind: 'stored' },
      { kind: 'rejected', code: 2, message: 'nested arrays are not supported' },
    ]);
  });

  it.each([
    [112, 'WriteConflict'],
    [91, 'ShutdownInProgress'],
    [99999, 'a code nobody has listed'],
  ])('retries the whole batch on per-document code %p (%s) rather than dead-lettering good events', (code) => {
    expect(() =>
      classifyWriteFailure(
        bulkError([
          { index: 0, code: 2, errmsg: 'bad value' },
          { index: 1, code, errmsg: 'not now' },
        ]),
        2,
      ),
    ).toThrow(StoreUnavailableError);
  });

  it('retries a failure that is not about particular documents', () => {
    expect(() => classifyWriteFailure(new mongo.MongoNetworkError('connection reset'), 5)).toThrow(
      StoreUnavailableError,
    );
  });
});
