import { completeThroughOf } from './api-client';
import { correctedEvent, correctionHint, showValue } from './letters-view';
import { metadataSummary } from './events-view';
import { CursorPager, filterQuery, localToIso, pageQuery } from './queries';

describe('viewer queries and values', () => {
  it('sends only the filters given, trimmed, with local times as instants', () => {
    const query = filterQuery({ userId: ' ada ', action: '', from: '2026-03-01T10:00', to: '', limit: '25' });
    expect([...query.keys()]).toEqual(['userId', 'from']);
    expect(query.get('userId')).toBe('ada');
    expect(query.get('from')).toBe(new Date('2026-03-01T10:00').toISOString());
    expect(localToIso('not a date')).toBeUndefined();
    expect(pageQuery(query, '10', 'c1').toString()).toBe(`${query.toString()}&limit=10&cursor=c1`);
  });

  it('pages forwards by cursor and back by the cursors it kept', () => {
    const pager = new CursorPager();
    pager.shown('c2');
    pager.forward();
    expect([pager.page, pager.current]).toEqual([2, 'c2']);
    pager.shown(null);
    expect(pager.hasNext).toBe(false);
    pager.forward(); // nothing after the last page
    expect(pager.page).toBe(2);
    pager.back();
    expect([pager.page, pager.current, pager.hasPrevious]).toEqual([1, undefined, false]);
  });

  it('reads the watermark from the body, else from the header', () => {
    const withHeader = new Response('{}', { headers: { 'x-complete-through': '2026-01-01T00:00:00.000Z' } });
    expect(completeThroughOf(withHeader, { completeThrough: null })).toBeNull();
    expect(completeThroughOf(withHeader, {})).toBe('2026-01-01T00:00:00.000Z');
    expect(completeThroughOf(new Response('{}'), {})).toBeUndefined();
  });

  it('takes a corrected event only as a JSON object, and shows values as best it can', () => {
    expect(correctedEvent('  ')).toEqual({});
    expect(correctedEvent('{"userId":"u","action":"a"}')).toEqual({ event: { userId: 'u', action: 'a' } });
    expect(correctedEvent('[1]')).toHaveProperty('error');
    expect(correctedEvent('{"userId":')).toHaveProperty('error');
    expect(showValue({ value: 'eyJhIjoxfQ==', valueText: '{"a":1}' })).toBe('{\n  "a": 1\n}');
    expect(showValue({ value: '/w==' })).toContain('base64');
    const hint = correctionHint('{"v":1,"eventId":"e","userId":"","action":"a","receivedAt":"x","traceId":"t"}');
    expect(JSON.parse(hint)).toEqual({ userId: '', action: 'a' });
    expect(correctionHint('not json')).toContain('userId');
    expect(metadataSummary({ page: '/a', n: 1, tags: ['x'] })).toBe('page: /a, n: 1, tags: ["x"]');
    expect(metadataSummary({ long: 'x'.repeat(100) }, 20)).toHaveLength(20);
  });
});
