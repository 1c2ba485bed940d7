import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The server's layers (docs/architecture.md): a route validates, calls a service and shapes
 * the answer; services own transactions, cache invalidation and status changes; store/ alone
 * speaks to the database. And one error hierarchy: whatever is refused is a ConnectrError.
 */

const root = join(import.meta.dirname, '../../..');

/** The TypeScript files below `dir` (relative to the root), with `/` separators. */
function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

describe('the server layers', () => {
  it('has one error hierarchy: no HttpError anywhere in src', () => {
    const offenders = sources('src').filter((file) =>
      /\bHttpError\b/.test(readFileSync(join(root, file), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
