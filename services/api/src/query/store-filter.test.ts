import { allOf } from './store-filter';

describe('allOf', () => {
  const from = new Date('2026-01-01T00:00:00Z');
  const to = new Date('2026-02-01T00:00:00Z');

  it('puts equalities at the top level, where FerretDB pushes them down', () => {
    expect(allOf([{ userId: 'u1' }, { action: 'login' }])).toEqual({ userId: 'u1', action: 'login' });
  });

  it('joins the bounds of one field into one operator document', () => {
    expect(allOf([{ userId: 'u1' }, { timestamp: { $gte: from } }, { timestamp: { $lt: to } }])).toEqual({
      userId: 'u1',
      timestamp: { $gte: from, $lt: to },
    });
  });

  it('keeps a cursor condition ($or) beside the equalities', () => {
    const after = { $or: [{ timestamp: { $lt: to } }, { timestamp: to, _id: { $lt: 'k' } }] };
    expect(allOf([{ source: 's' }, after])).toEqual({ source: 's', ...after });
  });

  it('leaves in $and what would otherwise overwrite a condition', () => {
    expect(allOf([{ timestamp: { $lt: to } }, { timestamp: { $lt: from } }])).toEqual({
      timestamp: { $lt: to },
      $and: [{ timestamp: { $lt: from } }],
    });
    expect(allOf([{ timestamp: from }, { timestamp: { $lt: to } }])).toEqual({
      timestamp: from,
      $and: [{ timestamp: { $lt: to } }],
    });
    expect(allOf([{ $or: [{ a: 1 }] }, { $or: [{ b: 2 }] }])).toEqual({ $or: [{ a: 1 }], $and: [{ $or: [{ b: 2 }] }] });
  });

  it('leaves an equality with U+0000 in $and, which FerretDB keeps out of PostgreSQL (jsonb cannot hold it)', () => {
    expect(allOf([{ userId: 'u1' }, { action: 'a\u0000' }])).toEqual({ userId: 'u1', $and: [{ action: 'a\u0000' }] });
  });

  it('is the empty filter for no conditions', () => {
    expect(allOf([])).toEqual({});
  });
});
