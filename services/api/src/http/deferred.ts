import { HttpError } from './errors';

export interface Deferred<T extends object> {
  /** Forwards every call to the attached implementation; until then each call is a 503. */
  readonly value: T;
  attach(implementation: T): void;
}

/**
 * A dependency that exists only once the store is reached (main.ts connects in the background):
 * until then its methods answer 503 STORE_UNAVAILABLE with Retry-After, as queries do.
 */
export function deferred<T extends object>(): Deferred<T> {
  let current: T | undefined;
  const value = new Proxy({} as T, {
    get(_target, name) {
      if (name === 'then') return undefined; // not a promise: `await value` must not call into it
      return (...args: unknown[]) => {
        if (current === undefined) {
          throw new HttpError(503, 'STORE_UNAVAILABLE', 'The event store is not reachable yet; retry later.', {
            retryAfterSeconds: 5,
          });
        }
        const method = (current as Record<string | symbol, unknown>)[name];
        if (typeof method !== 'function') throw new TypeError(`${String(name)} is not a method`);
        return (method as (...a: unknown[]) => unknown).apply(current, args);
      };
    },
  });
  return {
    value,
    attach(implementation) {
      current = implementation;
    },
  };
}
