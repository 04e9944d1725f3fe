/**
 * The conjunction of query conditions as one flat filter document:
 * `{userId: 'u', timestamp: {$gte: a, $lt: b}}` rather than
 * `{$and: [{userId: 'u'}, {timestamp: {$gte: a}}, {timestamp: {$lt: b}}]}`.
 *
 * MongoDB plans both alike (its planner flattens `$and`, and the same index serves either), but
 * FerretDB 1.x, the local stack's server, hands only top-level field equalities to its backend and
 * evaluates everything inside `$and` itself after reading the whole collection; in the flat form
 * `userId` reaches PostgreSQL and its index. A condition that cannot merge (an operator given twice
 * for one field, or a field given a value and an operator) stays in `$and`, so nothing is ever lost.
 * So does an equality with a string holding U+0000: PostgreSQL's jsonb cannot represent that
 * character, and FerretDB would fail the whole query (it can never match there anyway: FerretDB
 * stores no such string), where MongoDB simply matches it.
 */
export function allOf(conditions: ReadonlyArray<Record<string, unknown>>): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  const unmerged: Array<Record<string, unknown>> = [];
  for (const condition of conditions) {
    const flat = Object.entries(condition).every(
      ([field, value]) => field !== '$and' && !holdsNul(value) && fits(merged[field], value),
    );
    if (flat) {
      for (const [field, value] of Object.entries(condition)) {
        merged[field] = field in merged ? { ...(merged[field] as object), ...(value as object) } : value;
      }
    } else {
      unmerged.push(condition);
    }
  }
  if (unmerged.length > 0) merged.$and = unmerged;
  return merged;
}

function holdsNul(value: unknown): boolean {
  return typeof value === 'string' && value.includes('\u0000');
}

/** A field's new condition fits beside what it has: nothing yet, or operators that do not overlap. */
function fits(existing: unknown, added: unknown): boolean {
  if (existing === undefined) return true;
  if (!isOperators(existing) || !isOperators(added)) return false;
  return Object.keys(added).every((operator) => !(operator in existing));
}

/** `{$gte: …, $lt: …}`: a plain object of operators (not a Date, an array or an embedded document). */
function isOperators(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => key.startsWith('$'));
}
