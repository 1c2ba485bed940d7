import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
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

/** Every module a file imports (static `from '…'` and dynamic `import('…')`), resolved from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [
    ...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] ?? '');
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) =>
      relative(root, resolve(join(root, file, '..'), s))
        .split(sep)
        .join('/'),
    );
}

describe('the server layers', () => {
  it('finds the route files it checks', () => {
    expect(sources('src/server/routes').length).toBeGreaterThan(20);
  });

  it('keeps store/ out of every route: routes call services', () => {
    const offenders = sources('src/server/routes').flatMap((file) =>
      importsOf(file)
        .filter((target) => target.startsWith('src/server/store/'))
        .map((target) => `${file} imports ${target}`),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps drizzle out of every route: repositories hide it', () => {
    const offenders = sources('src/server/routes').filter((file) =>
      /\bfrom\s+['"]drizzle-orm/.test(readFileSync(join(root, file), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('opens no transaction in a route', () => {
    const offenders = sources('src/server/routes').filter((file) =>
      /\.transaction\s*\(/.test(readFileSync(join(root, file), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('has one error hierarchy: no HttpError anywhere in src', () => {
    const offenders = sources('src').filter((file) =>
      /\bHttpError\b/.test(readFileSync(join(root, file), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
