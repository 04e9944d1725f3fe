import { findInexactJson } from './exact-json';

describe('findInexactJson', () => {
  it.each([
    ['a top-level __proto__', '{"__proto__":{"x":1}}', '__proto__'],
    ['__proto__ inside metadata', '{"metadata":{"__proto__":{"$gt":1}}}', 'metadata.__proto__'],
    ['constructor deep down', '{"metadata":{"a":[{"b":{"constructor":1}}]}}', 'metadata.a.0.b.constructor'],
    ['prototype as a key', '{"events":[{"prototype":1}]}', 'events.0.prototype'],
    ['a lone high surrogate in a value', '{"userId":"a\\ud800b"}', 'userId'],
    ['a lone low surrogate in a key', '{"metadata":{"\\udc00":1}}', 'metadata.\udc00'],
    // PostgreSQL (FerretDB's backend) refuses a whole batch over one NUL: refused at the door.
    ['NUL in a metadata value', '{"metadata":{"nul":"a\\u0000b"}}', 'metadata.nul'],
    ['NUL in the userId', '{"userId":"a\\u0000b"}', 'userId'],
    ['NUL in a key', '{"metadata":{"a\\u0000":1}}', 'metadata.a\u0000'],
  ])('finds %s', (_name, json, path) => {
    expect(findInexactJson(JSON.parse(json))?.path).toBe(path);
  });

  it('accepts ordinary JSON, surrogate pairs (emoji) included, and "__proto__" as a value', () => {
    expect(findInexactJson(JSON.parse('{"a":"😀","b":[1,null,true,{"c":"__proto__"}],"proto":1}'))).toBeUndefined();
  });

  it('walks nesting far deeper than the stack without overflowing', () => {
    const depth = 200_000;
    const deep = JSON.parse(`${'['.repeat(depth)}"\\ud800"${']'.repeat(depth)}`) as unknown;
    expect(findInexactJson(deep)?.message).toMatch(/surrogate/);
  });
});

describe('findInexactJson and numbers', () => {
  it('refuses a number JSON.parse turned into Infinity, naming its path', () => {
    expect(findInexactJson(JSON.parse('{"metadata":{"n":1e400}}'))).toEqual({
      path: 'metadata.n',
      message: 'is a number beyond what can be stored (a double)',
    });
    expect(findInexactJson(JSON.parse('{"metadata":{"n":1.5e308,"m":-0}}'))).toBeUndefined();
  });
});
