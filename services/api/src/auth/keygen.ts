/**
 * `npm run keygen -- --name web --scopes ingest,read`: makes a new API key, prints it once (it is
 * kept nowhere) with the configuration line that makes the API accept it. `--json` prints both
 * as JSON, for scripts.
 */
import { parseArgs } from 'node:util';
import { KEY_NAME_PATTERN } from '@activity-logger/shared';
import { configurationLine, generateApiKey, parseScopes } from './api-keys';

function fail(message: string): never {
  process.stderr.write(
    `keygen: ${message}\nusage: npm run keygen -- --name <name> --scopes ingest,read[,admin] [--json]\n`,
  );
  process.exit(2);
}

const { values } = parseArgs({
  options: { name: { type: 'string' }, scopes: { type: 'string' }, json: { type: 'boolean', default: false } },
});
if (values.name === undefined || !KEY_NAME_PATTERN.test(values.name)) {
  fail('--name must be 1–64 characters of A-Z a-z 0-9 _ -');
}
const scopes = parseScopes(values.scopes ?? '', ',');
if (typeof scopes === 'string') fail(`--scopes: ${scopes}`);

const key = generateApiKey();
const line = configurationLine(values.name, scopes, key);
if (values.json) {
  process.stdout.write(`${JSON.stringify({ name: values.name, scopes, key, line })}\n`);
} else {
  process.stdout.write(
    [
      `API key "${values.name}" (scopes: ${scopes.join(', ')}). It is shown only now; store it in your secret manager:`,
      '',
      `  ${key}`,
      '',
      'Configuration line: add it to API_KEYS (comma-separated) or as a line of the API_KEYS_FILE:',
      '',
      `  ${line}`,
      '',
      'Clients send it as:  Authorization: Bearer <key>',
      '',
    ].join('\n'),
  );
}
