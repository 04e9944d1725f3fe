import { traceIdFrom } from './trace';

describe('traceIdFrom', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

  it('takes the trace id of a valid traceparent', () => {
    expect(traceIdFrom(`00-${traceId}-00f067aa0ba902b7-01`, 'req-1')).toBe(traceId);
  });

  it('ignores an invalid traceparent and falls back to X-Request-Id', () => {
    expect(traceIdFrom(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, 'req-1')).toBe('req-1');
    expect(traceIdFrom(`ff-${traceId}-00f067aa0ba902b7-01`, 'req-1')).toBe('req-1');
    expect(traceIdFrom(`00-${traceId.toUpperCase()}-00f067aa0ba902b7-01`, 'req-1')).toBe('req-1');
  });

  it('generates one when neither header is usable', () => {
    const generated = traceIdFrom(undefined, 'has spaces in it');
    expect(generated).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIdFrom(undefined, undefined)).not.toBe(generated);
  });
});
