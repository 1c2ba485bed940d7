import { describe, expect, it } from 'vitest';
import { fitsTemplate } from '../../../src/core/engine/path-template.js';

/**
 * The linear matcher against the regular expression it replaced, on every small template and
 * path over a few letters: the same answer everywhere, including placeholders side by side, a
 * `?` or `#` in the template's text, and a trailing slash.
 */

/** What `connectr api` used to compile each template to (fine for the tiny inputs here). */
function byRegex(template: string, path: string): boolean {
  const pattern = template
    .split(/\{[^{}]+\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^?#]+?');
  return new RegExp(`^${pattern}/?$`).test(path);
}

/** Every string of up to `length` characters over `alphabet`. */
function strings(alphabet: readonly string[], length: number): string[] {
  let all = [''];
  let level = [''];
  for (let n = 0; n < length; n++) {
    level = level.flatMap((s) => alphabet.map((c) => s + c));
    all = all.concat(level);
  }
  return all;
}

describe('fitsTemplate', () => {
  it('answers as the old regular expression did, on every small template and path', () => {
    const templates = strings(['a', '/', '?', '#', '{x}'], 4);
    const paths = strings(['a', 'b', '/', '?', '#'], 4);
    let compared = 0;
    for (const template of templates)
      for (const path of paths) {
        const expected = byRegex(template, path);
        if (fitsTemplate(template, path) !== expected)
          expect.fail(`${JSON.stringify(template)} vs ${JSON.stringify(path)}: want ${expected}`);
        compared++;
      }
    expect(compared).toBeGreaterThan(600_000);
  });

  it('takes "{}" and an unclosed brace as text, as the engine does when it fills a template', () => {
    expect(fitsTemplate('/a/{}/b', '/a/{}/b')).toBe(true);
    expect(fitsTemplate('/a/{}/b', '/a/x/b')).toBe(false);
    expect(fitsTemplate('/a/{x', '/a/{x')).toBe(true);
    expect(fitsTemplate('/a/{x}{y}', '/a/b')).toBe(false);
    expect(fitsTemplate('/a/{x}{y}', '/a/bc')).toBe(true);
  });
});
