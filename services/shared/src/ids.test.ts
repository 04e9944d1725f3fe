import { mintEventId } from './ids';

describe('mintEventId', () => {
  it('mints UUIDv7s that increase even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => mintEventId());
    expect(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id))).toBe(
      true,
    );
    expect(ids.every((id, i) => i === 0 || (ids[i - 1] as string) < id)).toBe(true);
  });
});
