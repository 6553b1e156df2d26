import { describe, expect, it } from 'vitest';
import { COMPOSE_MAX_ALIAS_EXPANSION, goNumber, goTimestamp, needsQuotes, parseComposeYaml, writeComposeYaml } from './compose-yaml.js';

// The values below are what `docker compose config --format json` (v2.26) printed for them;
// test/inject-yaml.test.ts checks them against the real CLI.
describe('go-yaml v3 scalars', () => {
  it.each([
    ['0440', 288], ['-0440', -288], ['0o17', 15], ['0O17', 15], ['0x1F', 31], ['-0x1F', -31], ['0b101', 5],
    ['1_000', 1000], ['1_', 1], ['08', 8], ['+12', 12], ['1.50', 1.5], ['1e3', 1000],
    ['9223372036854775807', 9223372036854775807n], ['18446744073709551615', 18446744073709551615n],
    ['99999999999999999999', 1e20], ['22:22', '22:22'], ['1:30', '1:30'],
  ])('%s', (text, value) => expect(goNumber(text)).toEqual(value));

  it.each([
    ['2001-12-14', '2001-12-14 00:00:00 +0000 UTC'],
    ['2001-12-14 21:59:43.10', '2001-12-14 21:59:43.1 +0000 UTC'],
    ['2001-12-14T21:59:43.10-05:00', '2001-12-14 21:59:43.1 -0500 -0500'],
    ['2001-13-01', undefined],
  ])('timestamp %s', (text, value) => expect(goTimestamp(text)).toBe(value));

  it('quotes what YAML 1.1 or go-yaml would not read as the same string', () => {
    for (const text of ['22:22', 'no', 'on', 'yes', '0:0', '0440', '1_000', '2001-12-14', '1337', 'true', 'null', '']) expect(needsQuotes(text), text).toBe(true);
    for (const text of ['nginx', 'service:web-pod', 'REDIRECT']) expect(needsQuotes(text), text).toBe(false);
  });
});

describe('parseComposeYaml / writeComposeYaml', () => {
  it('returns the text as read when nothing changed', () => {
    const text = 'services:\n  a:   # odd spacing kept\n    image: x\n    ports: [ 22:22 ]\n';
    const compose = parseComposeYaml(text, 'f.yaml');
    expect(writeComposeYaml(compose, compose.value as Record<string, unknown>)).toBe(text);
  });

  it('counts alias expansion only', () => {
    const lines = ['a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]'];
    for (let level = 1; level < 8; level++) lines.push(`l${level}: &l${level} [${Array(10).fill(level === 1 ? '*a' : `*l${level - 1}`).join(', ')}]`);
    expect(() => parseComposeYaml(lines.join('\n'), 'bomb.yaml')).toThrow(/ML_YAML_ALIAS_EXPANSION|more than/);
    expect(10 ** 8).toBeGreaterThan(COMPOSE_MAX_ALIAS_EXPANSION);
    const plain = `services:\n${Array.from({ length: 20_000 }, (_, index) => `  s${index}: {image: x}\n`).join('')}`;
    expect(Object.keys((parseComposeYaml(plain, 'plain.yaml').value as { services: object }).services)).toHaveLength(20_000);
  });

  it('keeps a new key next to kept ones, and removes a merged-in key by writing the merge out', () => {
    const text = 'x: &x {image: x, ports: ["80:80"]}\nservices:\n  a:\n    <<: *x\n    user: "1"   # me\n';
    const compose = parseComposeYaml(text, 'f.yaml');
    const value = compose.value as { services: { a: Record<string, unknown> } };
    const { ports: _ports, ...rest } = value.services.a;
    const out = writeComposeYaml(compose, { ...(compose.value as object), services: { a: { ...rest, init: true } } });
    const again = parseComposeYaml(out, 'out.yaml').value as { services: { a: Record<string, unknown> } };
    expect(again.services.a).toEqual({ image: 'x', user: '1', init: true });
    expect(out).toContain('# me');
    expect(out).toContain('x: &x');
  });

  it('removes a key written over a merged one without the merge bringing it back', () => {
    const text = 'x: &x {image: x, ports: ["1000:100"]}\nservices:\n  a:\n    <<: *x\n    ports: ["2000:200"]\n';
    const compose = parseComposeYaml(text, 'f.yaml');
    const value = compose.value as { services: { a: Record<string, unknown> } };
    expect(value.services.a.ports).toEqual(['2000:200']);
    const { ports: _ports, ...rest } = value.services.a;
    const out = writeComposeYaml(compose, { ...(compose.value as object), services: { a: rest } });
    expect((parseComposeYaml(out, 'out.yaml').value as typeof value).services.a).toEqual({ image: 'x' });
  });

  it('keeps the comments written above a removed key', () => {
    const text = 'services:\n  a:\n    image: x\n    # why these ports\n    ports: ["80"]\n    user: "1"\n  b:\n    image: y\n    # last one\n    expose: ["81"]\n';
    const compose = parseComposeYaml(text, 'f.yaml');
    const out = writeComposeYaml(compose, { services: { a: { image: 'x', user: '1' }, b: { image: 'y' } } });
    expect(out).toContain('    # why these ports\n    user: "1"');
    expect(out).toContain('# last one');
    expect((parseComposeYaml(out, 'out.yaml').value as Record<string, unknown>).services).toEqual({ a: { image: 'x', user: '1' }, b: { image: 'y' } });
  });
});
