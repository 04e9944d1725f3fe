import { decodePosition, encodePosition } from './position';

describe('tail positions', () => {
  it('round-trips per-partition offsets in partition order', () => {
    const text = encodePosition(
      new Map([
        [2, 7],
        [0, 12],
        [1, 0],
      ]),
    );
    expect(text).toBe('0:12,1:0,2:7');
    expect(decodePosition(text)).toEqual(
      new Map([
        [0, 12],
        [1, 0],
        [2, 7],
      ]),
    );
    expect(decodePosition('')).toEqual(new Map());
  });

  it.each(['x', '0:1,0:2', '0:-1', '0:1;1:2', '-1:3', '0:99999999999999999', '1:2,', ' 0:1', '0:1\n'])(
    'refuses %j',
    (text) => {
      expect(decodePosition(text)).toBeUndefined();
    },
  );
});
