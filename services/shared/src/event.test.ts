import { wireEventSchema } from './event';

describe('wireEventSchema', () => {
  const event = {
    v: 1,
    eventId: 'e1',
    userId: 'u',
    action: 'a',
    timestamp: '2026-01-01T00:00:00.000Z',
    receivedAt: '2026-01-01T00:00:00.000Z',
    traceId: 't',
  };

  it('takes an event as the API writes it', () => {
    expect(wireEventSchema.safeParse(event).success).toBe(true);
  });

  // A record with NUL cannot be stored on every server (PostgreSQL under FerretDB refuses the
  // whole batch): the worker must dead-letter it rather than retry the batch for ever.
  it.each([
    ['the userId', { ...event, userId: 'a\u0000b' }],
    ['the action', { ...event, action: 'a\u0000' }],
    ['a metadata value', { ...event, metadata: { deep: ['x', { v: '\u0000' }] } }],
  ])('refuses NUL in %s', (_where, value) => {
    expect(wireEventSchema.safeParse(value).success).toBe(false);
  });
});
