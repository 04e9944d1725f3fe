import { HttpError } from '../http/errors';

/**
 * Express's query parser, stricter: flat strings only (no `a[b]=c` objects; a repeated name
 * becomes an array, which the schemas refuse), and percent-escapes must decode to valid UTF-8 —
 * the stock parsers replace bad bytes with U+FFFD, which would query for a different string.
 * Entries are made with Object.fromEntries, so `__proto__=x` is an own (and refused) parameter.
 */
export function parseQueryString(query: string | null | undefined): Record<string, string | string[]> {
  const entries = new Map<string, string | string[]>();
  for (const part of (query ?? '').split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const name = decode(equals === -1 ? part : part.slice(0, equals));
    const value = equals === -1 ? '' : decode(part.slice(equals + 1));
    const seen = entries.get(name);
    entries.set(name, seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value]);
  }
  return Object.fromEntries(entries);
}

function decode(text: string): string {
  try {
    // decodeURIComponent throws on escapes that are not UTF-8, lone surrogates included.
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch (error) {
    throw new HttpError(400, 'VALIDATION_FAILED', 'The request is not valid; see details.', {
      details: [{ path: '(query)', message: 'percent-escapes must encode UTF-8' }],
      cause: error,
    });
  }
}
