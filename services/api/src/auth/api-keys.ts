import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { KEY_NAME_PATTERN } from '@activity-logger/shared';

/**
 * API keys. A key is `alk_` + 43 base64url characters (32 random bytes); the server holds only
 * the SHA-256 of each key, with the key's name and scopes, from configuration lines of the form
 * `name:scopes:sha256hex` (scopes joined by `+`). Several keys may share a name, so a key can be
 * rotated: configure the new one, move clients over, then remove the old line.
 */

export const SCOPES = ['ingest', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: what a request learns from its key. The key itself is never kept. */
export interface ApiKeyIdentity {
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
}

export interface ConfiguredKey extends ApiKeyIdentity {
  readonly hash: Buffer;
}

export const KEY_PREFIX = 'alk_';
/** The shape of a key; anything else is refused without hashing it. */
export const KEY_FORMAT = /^alk_[A-Za-z0-9_-]{43}$/;

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export function configurationLine(name: string, scopes: readonly Scope[], key: string): string {
  return `${name}:${scopes.join('+')}:${hashApiKey(key).toString('hex')}`;
}

export function parseScopes(text: string, separator: string): Scope[] | string {
  const scopes = text.split(separator).map((scope) => scope.trim());
  const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
  if (scopes.length === 0 || unknown.length > 0) {
    return `unknown scope ${JSON.stringify(unknown[0] ?? '')}; use ${SCOPES.join(', ')}`;
  }
  return [...new Set(scopes as Scope[])];
}

/** One configuration line, or the reason it is not one (which never repeats the hash). */
export function parseKeyLine(line: string): ConfiguredKey | string {
  const parts = line.trim().split(':');
  if (parts.length !== 3) return 'expected name:scopes:sha256hex';
  const [name, scopeText, hex] = parts as [string, string, string];
  if (!KEY_NAME_PATTERN.test(name)) return `the name ${JSON.stringify(name)} is not 1–64 of A-Z a-z 0-9 _ -`;
  const scopes = parseScopes(scopeText, '+');
  if (typeof scopes === 'string') return `key ${name}: ${scopes}`;
  if (!/^[0-9a-f]{64}$/i.test(hex)) return `key ${name}: the hash is not 64 hex digits (a SHA-256)`;
  return { name, scopes: new Set(scopes), hash: Buffer.from(hex, 'hex') };
}

/** Lines of a keys file or of API_KEYS: blank lines and `#` comments are skipped. */
export function parseKeyLines(lines: readonly string[]): { keys: ConfiguredKey[]; problems: string[] } {
  const keys: ConfiguredKey[] = [];
  const problems: string[] = [];
  const entryOfHash = new Map<string, number>();
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parsed = parseKeyLine(line);
    if (typeof parsed === 'string') {
      problems.push(`entry ${index + 1}: ${parsed}`);
      return;
    }
    // One key under two names would authenticate as whichever comes first: refuse the ambiguity.
    const hex = parsed.hash.toString('hex');
    const earlier = entryOfHash.get(hex);
    if (earlier !== undefined) {
      problems.push(`entry ${index + 1}: the same key hash as entry ${earlier}; each key must appear once`);
      return;
    }
    entryOfHash.set(hex, index + 1);
    keys.push(parsed);
  });
  return { keys, problems };
}

/** The configured keys, answering "whose key is this?" without ever holding a key. */
export class KeyRing {
  private readonly keys: readonly ConfiguredKey[];

  constructor(keys: readonly ConfiguredKey[]) {
    this.keys = keys;
  }

  get size(): number {
    return this.keys.length;
  }

  /** The names configured, for the start-up log line (names only, never hashes). */
  names(): string[] {
    return [...new Set(this.keys.map((key) => key.name))];
  }

  /**
   * The identity of a presented key, or undefined. The key is hashed first and the digest is
   * compared with every configured digest in constant time, without stopping at a match, so
   * neither the comparison nor the number of comparisons depends on which key (if any) matched.
   */
  identify(presented: string): ApiKeyIdentity | undefined {
    if (!KEY_FORMAT.test(presented)) return undefined;
    const digest = hashApiKey(presented);
    let found: ConfiguredKey | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(digest, key.hash) && found === undefined) found = key;
    }
    return found === undefined ? undefined : { name: found.name, scopes: found.scopes };
  }
}
