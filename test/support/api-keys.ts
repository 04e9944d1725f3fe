import { configurationLine, generateApiKey, type Scope } from '../../services/api/src/auth/api-keys';

/** A fresh API key for a test, with the configuration line that makes the API accept it. */
export interface TestKey {
  readonly name: string;
  readonly key: string;
  readonly line: string;
  readonly header: { Authorization: string };
}

export function testKey(name: string, scopes: readonly Scope[]): TestKey {
  const key = generateApiKey();
  return { name, key, line: configurationLine(name, scopes, key), header: { Authorization: `Bearer ${key}` } };
}
