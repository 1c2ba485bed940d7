import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * A fresh `npm ci` prints nothing a user must act on (issue #20): npm lists every package
 * whose install script no `allowScripts` entry of package.json covers, and three copies of
 * esbuild (one per tool that wanted its own) were three such lines.
 */
const root = join(import.meta.dirname, '../../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  allowScripts?: Record<string, boolean>;
};
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; hasInstallScript?: boolean }>;
};
const nameOf = (path: string): string =>
  path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

describe('the install', () => {
  it('has one esbuild for every tool that uses it', () => {
    const copies = Object.entries(lock.packages).filter(([path]) => nameOf(path) === 'esbuild');
    expect(copies.map(([path, entry]) => `${path}@${entry.version ?? ''}`)).toEqual([
      `node_modules/esbuild@${lock.packages['node_modules/esbuild']?.version ?? ''}`,
    ]);
  });

  it('declares a decision for every install script, so npm warns of none', () => {
    const decided = (name: string, version: string): boolean =>
      pkg.allowScripts?.[name] !== undefined || pkg.allowScripts?.[`${name}@${version}`] !== undefined;
    const undecided = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
      .map(([path, entry]) => [nameOf(path), entry.version ?? ''] as const)
      .filter(([name, version]) => !decided(name, version));
    expect(undecided).toEqual([]);
  });
});
