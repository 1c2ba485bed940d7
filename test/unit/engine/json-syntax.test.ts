import { describe, expect, it } from 'vitest';
import { jsonSyntaxError } from '../../../src/core/json-syntax.js';

/** Issue #7 point 14: a JSON body that does not parse is refused with the place it breaks. */
describe('jsonSyntaxError', () => {
  it('is undefined for valid JSON', () => {
    for (const text of ['{}', '[]', ' {"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"]} ', '"s"', '0'])
      expect(jsonSyntaxError(text), text).toBeUndefined();
  });

  it.each([
    ['{"title": }', 'unexpected "}"', 1, 11],
    ['{"a":1', 'unexpected end of text', 1, 7],
    ['{"a":1}x', 'unexpected "x"', 1, 8],
    ['{\n  "a": tru\n}', 'unexpected "\\n"', 2, 11],
    ["{'a': 1}", 'unexpected "\'"', 1, 2],
    ['[1,]', 'unexpected "]"', 1, 4],
    ['"bad \\q"', 'unexpected "q"', 1, 7],
    ['-x', 'unexpected "x"', 1, 2],
    ['', 'unexpected end of text', 1, 1],
  ])('%j: %s at %i:%i', (text, problem, line, column) => {
    expect(jsonSyntaxError(text)).toEqual({ problem, line, column });
  });

  it('survives nesting too deep to scan', () => {
    expect(jsonSyntaxError('['.repeat(200_000))?.problem).toBe('unexpected end of text');
  });
});
