import { isErased } from './erasure-guard';

describe('isErased', () => {
  const at = new Date('2026-01-02T03:04:05.678Z');
  const erasures = new Map([['u', at]]);

  it('covers events received before the erasure and in its own millisecond, not after it', () => {
    expect(isErased(erasures, 'u', new Date(at.getTime() - 1))).toBe(true);
    expect(isErased(erasures, 'u', at)).toBe(true);
    expect(isErased(erasures, 'u', new Date(at.getTime() + 1))).toBe(false);
    expect(isErased(erasures, 'someone-else', at)).toBe(false);
  });
});
