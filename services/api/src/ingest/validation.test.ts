import { completeEvent, encodeEvent, wireEventSchema } from '@activity-logger/shared';
import { validateBatch, validateEvent } from './validation';

const base = { userId: 'u-1', action: 'User_Login' };
const context = { receivedAt: new Date(), traceId: 't', mintId: () => 'id-1' };
const paths = (body: unknown) => {
  const result = validateEvent(body);
  return result.ok ? [] : result.details.map((d) => d.path);
};
const nested = (depth: number): Record<string, unknown> => (depth === 1 ? { leaf: true } : { n: nested(depth - 1) });

describe('validateEvent', () => {
  it('accepts the minimal event and the full one', () => {
    expect(validateEvent(base).ok).toBe(true);
    const full = validateEvent({
      ...base,
      metadata: { a: [1, { b: 'c' }] },
      timestamp: '2024-05-01T10:00:00.000+02:00',
      eventId: 'A-z_0.9:x',
    });
    expect(full.ok && full.value.timestamp?.toISOString()).toBe('2024-05-01T08:00:00.000Z');
  });

  it('takes epoch milliseconds as the timestamp', () => {
    const result = validateEvent({ ...base, timestamp: 0 });
    expect(result.ok && result.value.timestamp?.getTime()).toBe(0);
  });

  it('accepts the last instant of year 9999, which the worker can still read back', () => {
    const result = validateEvent({ ...base, timestamp: 253402300799999 });
    expect(result.ok && result.value.timestamp?.toISOString()).toBe('9999-12-31T23:59:59.999Z');
    const wire = JSON.parse(encodeEvent(completeEvent(result.ok ? result.value : base, context))) as unknown;
    expect(wireEventSchema.safeParse(wire).success).toBe(true);
  });

  it.each([
    ['userId missing', { action: 'a' }, 'userId'],
    ['userId empty', { ...base, userId: '' }, 'userId'],
    ['userId over 128 chars', { ...base, userId: 'u'.repeat(129) }, 'userId'],
    ['userId not a string', { ...base, userId: 42 }, 'userId'],
    ['action missing', { userId: 'u' }, 'action'],
    ['action over 128 chars', { ...base, action: 'a'.repeat(129) }, 'action'],
    ['an unknown top-level field', { ...base, level: 'info' }, 'level'],
    ['metadata an array', { ...base, metadata: [1, 2] }, 'metadata'],
    ['metadata a string', { ...base, metadata: 'x' }, 'metadata'],
    ['a metadata key starting with $', { ...base, metadata: { $gt: 1 } }, 'metadata.$gt'],
    ['a nested metadata key with a dot', { ...base, metadata: { a: { 'b.c': 1 } } }, 'metadata.a.b.c'],
    ['a metadata key with NUL', { ...base, metadata: { 'a\0b': 1 } }, 'metadata.a\0b'],
    ['metadata deeper than 10 levels', { ...base, metadata: nested(11) }, 'metadata.n.n.n.n.n.n.n.n.n.n'],
    ['metadata over 16 KiB', { ...base, metadata: { s: 'x'.repeat(16 * 1024) } }, 'metadata'],
    ['a timestamp without a zone', { ...base, timestamp: '2024-05-01T10:00:00' }, 'timestamp'],
    ['a fractional epoch timestamp', { ...base, timestamp: 1.5 }, 'timestamp'],
    ['an epoch timestamp before year 0000', { ...base, timestamp: -62167219200001 }, 'timestamp'],
    [
      'an ISO timestamp whose UTC is before year 0000',
      { ...base, timestamp: '0000-01-01T00:00:00+01:00' },
      'timestamp',
    ],
    ['an epoch timestamp after year 9999', { ...base, timestamp: 253402300800000 }, 'timestamp'],
    ['an ISO timestamp whose UTC is after year 9999', { ...base, timestamp: '9999-12-31T23:00:00-05:00' }, 'timestamp'],
    ['an eventId with a space', { ...base, eventId: 'a b' }, 'eventId'],
    ['an eventId over 64 chars', { ...base, eventId: 'e'.repeat(65) }, 'eventId'],
    ['an empty eventId', { ...base, eventId: '' }, 'eventId'],
  ])('rejects %s', (_name, body, path) => {
    expect(paths(body)).toContain(path);
  });

  it('allows metadata exactly 10 levels deep', () => {
    expect(validateEvent({ ...base, metadata: nested(10) }).ok).toBe(true);
  });

  it('rejects a body that is not an object', () => {
    expect(paths(null)).toEqual(['(body)']);
    expect(paths([base])).toEqual(['(body)']);
  });
});

describe('validateBatch', () => {
  it('accepts up to 1000 events', () => {
    const result = validateBatch({ events: Array.from({ length: 1000 }, () => base) });
    expect(result.ok && result.value).toHaveLength(1000);
  });

  it('rejects an empty batch, more than 1000 events, and an unknown envelope field', () => {
    expect(validateBatch({ events: [] }).ok).toBe(false);
    expect(validateBatch({ events: Array.from({ length: 1001 }, () => base) }).ok).toBe(false);
    const extra = validateBatch({ events: [base], dryRun: true });
    expect(extra.ok ? [] : extra.details.map((d) => d.path)).toEqual(['dryRun']);
  });

  it('names every bad event by index, all or nothing', () => {
    const result = validateBatch({ events: [base, { userId: 'u' }, base, { ...base, eventId: '!' }] });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.details.map(({ index, path }) => ({ index, path }))).toEqual([
      { index: 1, path: 'action' },
      { index: 3, path: 'eventId' },
    ]);
  });
});

describe('validateBatch and repeated eventIds', () => {
  it('refuses a batch that uses one eventId twice, naming both events', () => {
    const result = validateBatch({
      events: [
        { ...base, eventId: 'same' },
        { ...base, eventId: 'other' },
        { ...base, eventId: 'same' },
      ],
    });
    expect(result).toEqual({
      ok: false,
      details: [{ index: 2, path: 'eventId', message: 'repeats the eventId of event 0 in this batch' }],
    });
    expect(validateBatch({ events: [base, base] }).ok).toBe(true); // minted ids never collide
  });
});
