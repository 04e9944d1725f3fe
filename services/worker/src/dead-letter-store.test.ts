import { encodeEvent, completeEvent } from '@activity-logger/shared';
import { storableHeaders, toDeadLetterDocument } from './dead-letter-store';

const failedAt = new Date('2026-05-06T07:08:09Z');

function letter(value: string | null, headers: Record<string, string> = {}) {
  return {
    message: {
      topic: 'logs',
      partition: 2,
      offset: '41',
      key: Buffer.from('user-9'),
      value: value === null ? null : Buffer.from(value),
      headers,
    },
    reason: 'schema_invalid' as const,
    detail: 'action: Required',
  };
}

describe('toDeadLetterDocument', () => {
  it('keeps the original bytes and reads what it can of the event', () => {
    const event = completeEvent(
      { userId: 'user-9', action: 'a' },
      { receivedAt: new Date('2026-01-01T00:00:00Z'), traceId: 't-1', source: 'shop', mintId: () => 'e-1' },
    );
    const value = encodeEvent(event);
    const doc = toDeadLetterDocument(letter(value, { 'event-id': 'e-1', 'trace-id': 't-1' }), failedAt);
    expect(doc).toEqual({
      _id: 'logs:2:41',
      topic: 'logs',
      partition: 2,
      offset: 41,
      reason: 'schema_invalid',
      detail: 'action: Required',
      failedAt,
      key: Buffer.from('user-9'),
      value: Buffer.from(value),
      headers: { 'event-id': 'e-1', 'trace-id': 't-1' },
      eventId: 'e-1',
      source: 'shop',
      userId: 'user-9',
      traceId: 't-1',
      receivedAt: new Date('2026-01-01T00:00:00Z'),
      state: 'open',
    });
  });

  it('reads nothing from a value that is not a JSON object, and keeps it as it was', () => {
    const doc = toDeadLetterDocument(letter('not json {'), failedAt);
    expect(doc.value?.toString()).toBe('not json {');
    expect(doc).not.toHaveProperty('eventId');
    expect(doc).not.toHaveProperty('userId');
    expect(toDeadLetterDocument(letter(null), failedAt).value).toBeNull();
    expect(toDeadLetterDocument(letter('[1]'), failedAt)).not.toHaveProperty('userId');
  });

  it('makes header names and text storable (no ".", "$" or NUL), without losing what they were', () => {
    expect(storableHeaders({ 'a.b': 'x\u0000y', $op: 'v', '50%': 'p' })).toEqual({
      'a%2Eb': 'x\uFFFDy',
      '%24op': 'v',
      '50%25': 'p',
    });
  });
});
