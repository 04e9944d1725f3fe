import { toDeadLetterRecord } from './dead-letters';

describe('toDeadLetterRecord', () => {
  const message = {
    topic: 'activity-logs',
    partition: 4,
    offset: '1234',
    key: Buffer.from('user-1'),
    value: Buffer.from([0xff, 0x00, 0x7b]),
    headers: { 'trace-id': Buffer.from('trace-1'), 'content-type': 'application/json' },
  };

  it('keeps the original key, value bytes and headers and adds where and why it failed', () => {
    const record = toDeadLetterRecord(
      { message, reason: 'unparseable', detail: 'not JSON' },
      new Date('2026-01-02T03:04:05.000Z'),
    );

    expect(record.key).toBe(message.key);
    expect(record.value).toBe(message.value);
    expect(record.headers).toEqual({
      'trace-id': Buffer.from('trace-1'),
      'content-type': 'application/json',
      'dlq-reason': 'unparseable',
      'dlq-detail': 'not JSON',
      'dlq-source-topic': 'activity-logs',
      'dlq-source-partition': '4',
      'dlq-source-offset': '1234',
      'dlq-failed-at': '2026-01-02T03:04:05.000Z',
    });
  });

  it('truncates a long detail to about a kilobyte', () => {
    const record = toDeadLetterRecord({ message, reason: 'schema_invalid', detail: 'x'.repeat(5000) }, new Date());
    const detail = String(record.headers['dlq-detail']);
    expect(detail.length).toBeLessThanOrEqual(1001);
    expect(detail.endsWith('…')).toBe(true);
  });
});
