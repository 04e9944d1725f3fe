import type { ErrorDetail } from './errors';

/**
 * What a parsed JSON value may not contain because it would be changed on its way to the store:
 *   - keys `__proto__`, `constructor`, `prototype`: JSON.parse makes `__proto__` an own property,
 *     but copying the object (zod's record, spreads) sets the prototype instead, so the key and
 *     everything under it vanish (and escape validation); the other two are refused with it,
 *     as they are what prototype-pollution payloads are built from;
 *   - lone UTF-16 surrogates (`"\ud800"`) in keys or values: they cannot be encoded as UTF-8, so
 *     Kafka and BSON would turn them into U+FFFD and two different strings into one.
 * The walk is iterative: a 1 MiB body can nest far deeper than the stack.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const LONE_SURROGATE = /\p{Surrogate}/u;

export function findInexactJson(value: unknown, root = '(body)'): ErrorDetail | undefined {
  const pending: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  const pathOf = (path: (string | number)[]) => (path.length === 0 ? root : path.join('.'));
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value: current, path } = item;
    if (typeof current === 'string') {
      if (LONE_SURROGATE.test(current)) {
        return { path: pathOf(path), message: 'contains a lone UTF-16 surrogate, which cannot be stored' };
      }
    } else if (Array.isArray(current)) {
      current.forEach((child, index) => pending.push({ value: child, path: [...path, index] }));
    } else if (current !== null && typeof current === 'object') {
      for (const key of Object.keys(current)) {
        const childPath = [...path, key];
        if (FORBIDDEN_KEYS.has(key)) return { path: pathOf(childPath), message: `the key "${key}" is not allowed` };
        if (LONE_SURROGATE.test(key)) {
          return { path: pathOf(childPath), message: 'the key contains a lone UTF-16 surrogate' };
        }
        pending.push({ value: (current as Record<string, unknown>)[key], path: childPath });
      }
    }
  }
  return undefined;
}
