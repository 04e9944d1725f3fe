import { ConfigError } from '@activity-logger/shared';
import type { ApiConfig } from '../config';
import { KeyRing, parseKeyLines } from './api-keys';

export const AUTH_DISABLED_WARNING =
  'AUTH IS DISABLED (AUTH_DISABLED=true, NODE_ENV=development): anyone who reaches this port can read ' +
  'and write every event. Never run like this anywhere but your own machine.';

/**
 * The keys the API accepts: API_KEYS and the lines of API_KEYS_FILE together, or undefined when
 * auth is disabled. Throws a ConfigError (main.ts exits) for an unreadable or malformed file and
 * when no key is configured at all: the API never starts open by accident.
 */
export async function loadKeyRing(
  auth: ApiConfig['auth'],
  readFile: (path: string) => Promise<string>,
): Promise<KeyRing | undefined> {
  if (auth.disabled) return undefined;
  const keys = [...auth.inlineKeys];
  if (auth.keysFile !== undefined) {
    let text: string;
    try {
      text = await readFile(auth.keysFile);
    } catch (error) {
      throw new ConfigError(`API_KEYS_FILE: cannot read ${auth.keysFile}: ${(error as Error).message}`, [
        'API_KEYS_FILE',
      ]);
    }
    const { keys: fromFile, problems } = parseKeyLines(text.split(/\r?\n/));
    if (problems.length > 0) {
      throw new ConfigError(`API_KEYS_FILE (${auth.keysFile}):\n  ${problems.join('\n  ')}`, ['API_KEYS_FILE']);
    }
    const inline = new Set(auth.inlineKeys.map((key) => key.hash.toString('hex')));
    const twice = fromFile.filter((key) => inline.has(key.hash.toString('hex'))).map((key) => key.name);
    if (twice.length > 0) {
      throw new ConfigError(
        `API_KEYS_FILE: the key(s) of ${twice.join(', ')} are in API_KEYS too; each key must appear once`,
        ['API_KEYS_FILE'],
      );
    }
    keys.push(...fromFile);
  }
  if (keys.length === 0) {
    throw new ConfigError('API_KEYS: no API key configured (API_KEYS and API_KEYS_FILE hold none)', [
      'API_KEYS',
      'API_KEYS_FILE',
    ]);
  }
  return new KeyRing(keys);
}
