import { ConfigError } from '@activity-logger/shared';
import { configurationLine, generateApiKey, parseKeyLines } from './api-keys';
import { loadKeyRing } from './load-keys';

describe('loadKeyRing', () => {
  const [inline, fromFile] = [generateApiKey(), generateApiKey()];
  const inlineKeys = parseKeyLines([configurationLine('web', ['ingest'], inline)]).keys;
  const file = `# mounted from the Secret\n\n${configurationLine('batch', ['ingest', 'read'], fromFile)}\n`;
  const readFile = (text: string) => () => Promise.resolve(text);

  it('accepts the union of API_KEYS and the lines of API_KEYS_FILE', async () => {
    const ring = await loadKeyRing({ disabled: false, inlineKeys, keysFile: '/keys' }, readFile(file));
    expect(ring?.identify(inline)?.name).toBe('web');
    expect(ring?.identify(fromFile)?.name).toBe('batch');
  });

  it('is undefined only when auth is disabled', async () => {
    expect(await loadKeyRing({ disabled: true, inlineKeys: [], keysFile: undefined }, readFile(''))).toBeUndefined();
  });

  it.each([
    ['no key at all', { keysFile: undefined }, '', 'API_KEYS'],
    ['a file with only comments', { keysFile: '/keys' }, '# nothing\n', 'API_KEYS'],
    ['a malformed line in the file', { keysFile: '/keys' }, 'web:ingest:abc\n', 'API_KEYS_FILE'],
  ])('refuses to start with %s', async (_name, settings, text, variable) => {
    const loading = loadKeyRing({ disabled: false, inlineKeys: [], ...settings }, readFile(text));
    await expect(loading).rejects.toBeInstanceOf(ConfigError);
    await expect(loading).rejects.toMatchObject({ variables: expect.arrayContaining([variable]) });
  });

  it('names the file it cannot read', async () => {
    const loading = loadKeyRing({ disabled: false, inlineKeys, keysFile: '/missing' }, () =>
      Promise.reject(new Error('ENOENT')),
    );
    await expect(loading).rejects.toThrow(/API_KEYS_FILE: cannot read \/missing/);
  });
});
