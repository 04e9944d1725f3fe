import { withTimeLimit } from './time-limit';

describe('withTimeLimit', () => {
  it('gives the work when it settles in time, its error included', async () => {
    await expect(withTimeLimit(Promise.resolve(1), 1000, () => 'late')).resolves.toBe(1);
    await expect(withTimeLimit(Promise.reject(new Error('no')), 1000, () => 'late')).rejects.toThrow('no');
  });

  it('gives the fallback, or its error, when the work does not settle in time', async () => {
    const never = new Promise<number>(() => undefined);
    await expect(withTimeLimit(never, 10, () => 'late')).resolves.toBe('late');
    await expect(
      withTimeLimit(never, 10, () => {
        throw new Error('too slow');
      }),
    ).rejects.toThrow('too slow');
  });
});
