import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fastCheckSource } from '../../../scripts/generate-fast-check.mjs';
import { fastCheck } from '../../../src/core/connector/fast-check.js';
import * as predicates from '../../../src/core/connector/names.js';
import { BUILTIN_CONNECTORS_DIR } from '../../../src/core/connector/registry.js';
import { ConnectorSchema } from '../../../src/core/connector/schema.js';

/**
 * The check generated from the connector schema (fast-check.ts) stands in for the zod schema
 * whenever it accepts a definition: it must then accept nothing zod refuses and give exactly
 * zod's value (defaults, key order). What it leaves to zod only costs time.
 */

const ROOT = join(import.meta.dirname, '..', '..', '..');

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });

const definitions = (dirs: string[]): { file: string; data: unknown }[] =>
  dirs.flatMap(yamlFiles).flatMap((file) => {
    try {
      const data = parse(readFileSync(file, 'utf8'), { maxAliasCount: 10_000 }) as unknown;
      // Trees only (an alias inside its own anchor makes a cycle), and of a sensible size.
      return JSON.stringify(data).length < 200_000 ? [{ file, data }] : [];
    } catch {
      return [];
    }
  });

const builtins = definitions([BUILTIN_CONNECTORS_DIR]);
const fixtures = definitions([
  join(ROOT, 'test', 'fixtures', 'connectors'),
  join(ROOT, 'test', 'fixtures', 'generate'),
  join(ROOT, 'templates'),
]);

/** The same answer as zod's: refused by both, or the same value to the key order. */
function expectAsZod(data: unknown, label: string): boolean {
  const fast = fastCheck(data);
  const zod = ConnectorSchema.safeParse(data, { jitless: true });
  if (fast !== undefined) {
    expect(zod.success, `${label}: accepted, but zod refuses it`).toBe(true);
    expect(JSON.stringify(fast), label).toBe(JSON.stringify(zod.data));
    expect(fast, label).toEqual(zod.data);
  }
  return fast !== undefined;
}

describe('the check generated from the connector schema', () => {
  it('is what scripts/generate-fast-check.mjs makes of schema.ts today (run `npm run schema`)', async () => {
    const committed = readFileSync(join(ROOT, 'src', 'core', 'connector', 'fast-check.ts'), 'utf8');
    expect(await fastCheckSource(ConnectorSchema, predicates)).toBe(committed);
  });

  it('accepts every built-in connector by itself, with the value zod gives', () => {
    expect(builtins.length).toBeGreaterThan(5);
    for (const { file, data } of builtins) expect(expectAsZod(data, file), file).toBe(true);
  });

  it('answers the test fixtures, valid and broken, as zod does', () => {
    expect(fixtures.length).toBeGreaterThan(20);
    const accepted = fixtures.filter(({ file, data }) => expectAsZod(data, file));
    // The valid ones need no zod either.
    expect(accepted.length).toBeGreaterThan(5);
  });

  it('never accepts what zod refuses, nor differs from it, over thousands of altered definitions', () => {
    // A fixed seed: the same alterations on every run, so a failure can be replayed.
    let seed = 20;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const replacements: unknown[] = [
      null,
      0,
      -1,
      1.5,
      65536,
      Number.MAX_SAFE_INTEGER + 2,
      true,
      '',
      ' ',
      'x',
      'GET',
      'oauth2',
      'api_key',
      'page_token',
      '/x',
      'https://example.com/',
      ' https://example.com',
      'https://example.com\t',
      'http:example.com',
      'ftp://example.com',
      'https://',
      'https://*.example.com',
      '__proto__',
      'constructor',
      'a.constructor',
      ['x'],
      [],
      [1],
      {},
      { type: 'none' },
      { url: 'https://example.com' },
      { in: 'query' },
    ];
    const paths = (value: unknown, at: (string | number)[] = []): (string | number)[][] => {
      if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => paths(v, [...at, i]))];
      if (value !== null && typeof value === 'object') {
        return [at, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...at, k]))];
      }
      return [at];
    };
    const alter = (data: unknown): unknown => {
      const copy = structuredClone(data) as Record<string | number, unknown>;
      for (let n = 1 + random(2); n > 0; n--) {
        // Taken again after each alteration: the last one may have removed a part.
        const all = paths(copy).filter((p) => p.length > 0);
        const path = all[random(all.length)] ?? [];
        let parent: Record<string | number, unknown> = copy;
        for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
        const key = path.at(-1) ?? '';
        const action = random(4);
        if (action === 0 && !Array.isArray(parent)) delete parent[key];
        else if (action === 1 && !Array.isArray(parent)) parent[`${String(key)}_extra`] = parent[key];
        else parent[key] = structuredClone(replacements[random(replacements.length)]);
      }
      return copy;
    };
    let accepted = 0;
    let total = 0;
    for (const { file, data } of [...builtins, ...fixtures]) {
      if (data === null || typeof data !== 'object') continue;
      for (let i = 0; i < 60; i++) {
        total++;
        if (expectAsZod(alter(data), `${file}, alteration ${i}`)) accepted++;
      }
    }
    // Some alterations keep a definition valid: those are answered here, not by zod.
    expect(total).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(50);
  });
});
