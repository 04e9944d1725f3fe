import type { ErrorDetail } from './errors';

/**
 * What a parsed JSON value may not contain because it would be changed on its way to the store:
 *   - keys `__proto__`, `constructor`, `prototype`: JSON.parse makes `__proto__` an own property,
 *     but copying the object (zod's record, spreads) sets the prototype instead, so the key and
 *     everything under it vanish (and escape validation); the other two are refused with it,
 *     as they are what prototype-pollution payloads are built from;
 *   - lone UTF-16 surrogates (`"\ud800"`) in keys or values: they cannot be encoded as UTF-8, so
 *     Kafka and BSON would turn them into U+FFFD and two different strings into one;
 *   - NUL (U+0000) in keys or values: PostgreSQL, under FerretDB, cannot hold it, and refuses
 *     the whole write of a batch that has one (it is not a per-document error, so the worker
 *     would retry the batch for ever), while a MongoDB server stores it: refused everywhere, so
 *     that what one deployment takes, every one can store;
 *   - numbers beyond the double range (`1e400`): JSON.parse makes them Infinity, which JSON then
 *     writes as null — the event would be stored with another value than the one sent.
 * The walk is iterative and keeps a parent link per value rather than a path, so a 1 MiB body
 * nested far deeper than the stack costs linear time; the path is built only for a problem.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const LONE_SURROGATE = /\p{Surrogate}/u;
const NUL = '\u0000';

interface Visit {
  readonly value: unknown;
  readonly key: string | number | undefined;
  readonly parent: Visit | undefined;
}

function pathOf(visit: Visit, root: string): string {
  const keys: (string | number)[] = [];
  for (let at: Visit | undefined = visit; at !== undefined && at.key !== undefined; at = at.parent) keys.push(at.key);
  return keys.length === 0 ? root : keys.reverse().join('.');
}

export function findInexactJson(value: unknown, root = '(body)'): ErrorDetail | undefined {
  const pending: Visit[] = [{ value, key: undefined, parent: undefined }];
  for (let visit = pending.pop(); visit !== undefined; visit = pending.pop()) {
    const current = visit.value;
    if (typeof current === 'number') {
      if (!Number.isFinite(current)) {
        return { path: pathOf(visit, root), message: 'is a number beyond what can be stored (a double)' };
      }
    } else if (typeof current === 'string') {
      if (LONE_SURROGATE.test(current)) {
        return { path: pathOf(visit, root), message: 'contains a lone UTF-16 surrogate, which cannot be stored' };
      }
      if (current.includes(NUL)) return { path: pathOf(visit, root), message: 'contains NUL (U+0000)' };
    } else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index -= 1) {
        pending.push({ value: current[index] as unknown, key: index, parent: visit });
      }
    } else if (current !== null && typeof current === 'object') {
      for (const key of Object.keys(current)) {
        const child: Visit = { value: (current as Record<string, unknown>)[key], key, parent: visit };
        if (FORBIDDEN_KEYS.has(key)) return { path: pathOf(child, root), message: `the key "${key}" is not allowed` };
        if (LONE_SURROGATE.test(key)) {
          return { path: pathOf(child, root), message: 'the key contains a lone UTF-16 surrogate' };
        }
        if (key.includes(NUL)) return { path: pathOf(child, root), message: 'the key contains NUL (U+0000)' };
        pending.push(child);
      }
    }
  }
  return undefined;
}
