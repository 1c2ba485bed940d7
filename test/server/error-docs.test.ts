import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.js';
import { HTTP_ONLY_CODES, httpStatusFor } from '../../src/server/errors.js';

/** docs/server.md's error table lists every code the server can answer, with its status. */
describe('the error table of docs/server.md', () => {
  const text = readFileSync(new URL('../../docs/server.md', import.meta.url), 'utf8');
  const section = text.slice(text.indexOf('### Errors'), text.indexOf('### Request ids'));
  /** Each code of the table with the statuses of the rows that name it. */
  const documented = new Map<string, Set<number>>();
  for (const [, status = '', codes = ''] of section.matchAll(/^\| (\d{3}) +\| ([^|]*)\|/gm))
    for (const [, code = ''] of codes.matchAll(/`([a-z_]+)`/g))
      documented.set(code, (documented.get(code) ?? new Set()).add(Number(status)));

  it('names every ConnectrError code at the status the server gives it', () => {
    for (const code of ERROR_CODES)
      expect([...(documented.get(code) ?? [])], code).toEqual([httpStatusFor(code)]);
  });

  it('names every code only HTTP has', () => {
    for (const code of HTTP_ONLY_CODES) expect(documented.has(code), code).toBe(true);
  });
});
