/**
 * `npm run keygen -- --name web --scopes ingest,read`: makes a new API key, prints it once (it is
 * kept nowhere) with the configuration line that makes the API accept it. `--json` prints both
 * as JSON, for scripts. `--init <dir>` is for local setups (docker compose): the first time it
 * writes the key to <dir>/api-key and its line to <dir>/api-keys (an API_KEYS_FILE); later runs
 * print the key kept there.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KEY_NAME_PATTERN } from '@activity-logger/shared';
import { configurationLine, generateApiKey, parseScopes } from './api-keys';

function fail(message: string): never {
  process.stderr.write(
    `keygen: ${message}\nusage: npm run keygen -- --name <name> --scopes ingest,read[,admin] [--json | --init <dir>]\n`,
  );
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    scopes: { type: 'string' },
    json: { type: 'boolean', default: false },
    init: { type: 'string' },
  },
});
if (values.name === undefined || !KEY_NAME_PATTERN.test(values.name)) {
  fail('--name must be 1–64 characters of A-Z a-z 0-9 _ -');
}
const scopes = parseScopes(values.scopes ?? '', ',');
if (typeof scopes === 'string') fail(`--scopes: ${scopes}`);

let key: string;
const keyFile = values.init === undefined ? undefined : path.join(values.init, 'api-key');
if (keyFile !== undefined && existsSync(keyFile)) {
  key = readFileSync(keyFile, 'utf8').trim();
} else {
  key = generateApiKey();
  if (keyFile !== undefined && values.init !== undefined) {
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    // Hashes only: readable by the API's (non-root) user.
    writeFileSync(path.join(values.init, 'api-keys'), `${configurationLine(values.name, scopes, key)}\n`, {
      mode: 0o644,
    });
  }
}
const line = configurationLine(values.name, scopes, key);
if (values.json) {
  process.stdout.write(`${JSON.stringify({ name: values.name, scopes, key, line })}\n`);
} else {
  process.stdout.write(
    [
      `API key "${values.name}" (scopes: ${scopes.join(', ')}).`,
      keyFile === undefined
        ? 'It is shown only now; store it in your secret manager:'
        : `Kept in ${keyFile} (its line in ${path.join(values.init ?? '', 'api-keys')}):`,
      '',
      `  ${key}`,
      '',
      'Configuration line: add it to API_KEYS (comma-separated) or as a line of the API_KEYS_FILE:',
      '',
      `  ${line}`,
      '',
      `Clients send it as:  Authorization: Bearer <key>`,
      `  KEY=${key}`,
      '  curl -H "Authorization: Bearer $KEY" "http://localhost:3000/api/logs?limit=5"',
      '',
    ].join('\n'),
  );
}
