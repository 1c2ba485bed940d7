import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/server/types.js';
import { testServer } from './helpers.js';

/**
 * /openapi.json is read by other tools (code generators, fuzzers, Python clients): its
 * regular-expression patterns must mean the same in Python's `re` as in JavaScript, so they
 * use no syntax only some engines know (`\\p{Cc}`), issue #20 §3.
 */

let app: App;
beforeAll(async () => {
  app = (await testServer()).app;
});
afterAll(async () => {
  await app.close();
});

describe('the patterns of /openapi.json', () => {
  /** Every `pattern` in the document, wherever it is. */
  function patternsOf(value: unknown, found = new Set<string>()): Set<string> {
    if (Array.isArray(value)) for (const item of value) patternsOf(item, found);
    else if (value !== null && typeof value === 'object')
      for (const [name, inner] of Object.entries(value)) {
        if (name === 'pattern' && typeof inner === 'string') found.add(inner);
        else patternsOf(inner, found);
      }
    return found;
  }

  it('compile in JavaScript (with and without u) and in Python re, and match alike', async () => {
    const document: unknown = (await app.inject({ url: '/openapi.json' })).json();
    const patterns = [...patternsOf(document)];
    expect(patterns.length).toBeGreaterThan(3);
    // A name with an accent, a tab, a C1 control (NEL), a DEL: the control-character rule.
    const samples = ['Ana Lima', 'é', 'a\tb', 'a\u0085b', 'a\u007fb', 'conn_abc123', 'gmail', 'QUJD'];
    const javascript = patterns.map((pattern) => {
      const unicode = new RegExp(pattern, 'u');
      const plain = new RegExp(pattern);
      return samples.map((sample) => {
        expect(plain.test(sample), `${pattern} on ${JSON.stringify(sample)}`).toBe(unicode.test(sample));
        return unicode.test(sample);
      });
    });
    const script = [
      'import json, re, sys',
      'data = json.load(sys.stdin)',
      'print(json.dumps([[re.search(p, s) is not None for s in data["samples"]] for p in data["patterns"]]))',
    ].join('\n');
    const python = spawnSync('python3', ['-c', script], {
      input: JSON.stringify({ patterns, samples }),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(python.stderr).toBe('');
    expect(python.status).toBe(0);
    expect(JSON.parse(python.stdout)).toEqual(javascript);
    // And the rule itself: control characters (C0, DEL, C1) are refused, letters are not.
    const noControl = patterns.find(
      (p) => new RegExp(p, 'u').test('é') && !new RegExp(p, 'u').test('a\u0085b'),
    );
    expect(noControl).toBeDefined();
  });
});
