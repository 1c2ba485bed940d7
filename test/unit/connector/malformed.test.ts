import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConnector } from '../../../src/core/connector/load.js';
import { formatProblem } from '../../../src/core/connector/problem.js';

/**
 * A corpus of broken connector files. Each ends with `# expect: line:col: path: message`
 * comments: the exact problems a user must be shown. Add a case by adding a file.
 */
const dir = join(import.meta.dirname, '../../fixtures/connectors/invalid');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('malformed connector definitions', () => {
  it('has a corpus of at least 20 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)('%s is rejected with located, precise messages', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => `${file}:${m[1] ?? ''}`);
    expect(expected.length, 'the case declares what it expects').toBeGreaterThan(0);

    const result = parseConnector(text, { file, origin: 'extra' });
    expect(result.ok).toBe(false);
    const reported = result.ok ? [] : result.problems.map(formatProblem);
    expect(reported).toEqual(expected);
  });
});
