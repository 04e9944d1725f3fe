import { configurationLine, generateApiKey, KEY_FORMAT, KeyRing, parseKeyLine, parseKeyLines } from './api-keys';

describe('API keys', () => {
  it('look like alk_ and 43 base64url characters, and are new each time', () => {
    const key = generateApiKey();
    expect(key).toMatch(KEY_FORMAT);
    expect(generateApiKey()).not.toBe(key);
  });

  it('configure as name:scopes:sha256hex, and identify their holder', () => {
    const key = generateApiKey();
    const line = configurationLine('web', ['ingest', 'read'], key);
    expect(line).toMatch(/^web:ingest\+read:[0-9a-f]{64}$/);
    expect(line).not.toContain(key);
    const ring = new KeyRing(parseKeyLines([line]).keys);
    const caller = ring.identify(key);
    expect(caller?.name).toBe('web');
    expect([...(caller?.scopes ?? [])]).toEqual(['ingest', 'read']);
    expect(ring.identify(generateApiKey())).toBeUndefined();
    expect(ring.identify('')).toBeUndefined();
  });

  it('skips comments and blank lines, and reports malformed lines without their hash', () => {
    const hash = 'ab'.repeat(32);
    const { keys, problems } = parseKeyLines([
      '# the web client',
      '',
      `web:ingest:${hash}`,
      `bad name:ingest:${hash}`,
      `web:write:${hash}`,
      'web:ingest:abc',
      'just-a-name',
    ]);
    expect(keys.map((key) => key.name)).toEqual(['web']);
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).not.toContain(hash);
  });

  it('keeps two keys of one name (a rotation) apart', () => {
    const [oldKey, newKey] = [generateApiKey(), generateApiKey()];
    const ring = new KeyRing(
      parseKeyLines([configurationLine('web', ['ingest'], oldKey), configurationLine('web', ['read'], newKey)]).keys,
    );
    expect([...(ring.identify(oldKey)?.scopes ?? [])]).toEqual(['ingest']);
    expect([...(ring.identify(newKey)?.scopes ?? [])]).toEqual(['read']);
    expect(ring.names()).toEqual(['web']);
    expect(typeof parseKeyLine('web::')).toBe('string');
  });
});

describe('parseKeyLines and repeated keys', () => {
  it('refuses one key configured under two names', () => {
    const key = generateApiKey();
    const hash = configurationLine('x', ['read'], key).split(':')[2] ?? '';
    const { keys, problems } = parseKeyLines([`dupx:read:${hash}`, `dupy:ingest:${hash}`]);
    expect(keys.map((k) => k.name)).toEqual(['dupx']);
    expect(problems).toEqual(['entry 2: the same key hash as entry 1; each key must appear once']);
  });
});
