/**
 * `work`, or — if it has not settled within `ms` — whatever `onTimeout` returns (or throws).
 * The timer is always cleared. `work` itself is not cancelled: callers use this where the answer
 * no longer matters after the limit (a readiness check, a stop step, a write that will be retried).
 */
export async function withTimeLimit<T, F>(work: Promise<T>, ms: number, onTimeout: () => F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<F>((resolve) => {
    // Resolving with a promise of onTimeout's result makes its throw this promise's rejection.
    timer = setTimeout(() => resolve(Promise.resolve().then(onTimeout)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}
