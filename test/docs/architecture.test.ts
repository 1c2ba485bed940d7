import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The layout of docs/architecture.md against the tree: a reader finds every module there. */

const root = join(import.meta.dirname, '../..');
const markdown = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
const layout = /\n## Layout\n\n```\n([\s\S]*?)\n```/.exec(markdown)?.[1] ?? '';

/** Files below `dir`, relative to the root, with `/` separators. */
function files(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

/** Generated or data files, described by their folder: migrations, golden output, broken definitions, the pages' assets. */
const described = /\/(migrations|golden|invalid|assets)\//;
const tree = [...files('src'), ...files('test/fixtures')].filter((file) => !described.test(file));
const word = (name: string): RegExp => new RegExp(`(^|[^\\w-])${name.replace(/\./g, '\\.')}($|[^\\w-])`, 'm');

describe('docs/architecture.md', () => {
  it('names every folder of src/ and test/fixtures/', () => {
    expect(layout.length).toBeGreaterThan(1000);
    const folders = new Set(tree.map((file) => file.split('/').slice(0, -1).join('/')));
    const missing = [...folders].filter((folder) => {
      const name = folder.split('/').pop() ?? '';
      return !layout.includes(`${name}/`);
    });
    expect(missing).toEqual([]);
  });

  it('names every module of src/ and every fixture', () => {
    const missing = tree.filter((file) => {
      const name = file.split('/').pop() ?? '';
      const stem = name.replace(/\.(d\.ts|ts|mjs|yaml|json|ejs|txt\.ejs)$/, '');
      return !word(stem).test(layout) && !word(name).test(layout);
    });
    expect(missing).toEqual([]);
  });

  it('gives each top-level folder one entry', () => {
    const entries = [...layout.matchAll(/^(src\/[\w-]+\/|test\/|bench\/|docs\/)(?=\s)/gm)].map((m) => m[1]);
    expect(entries.filter((entry, i) => entries.indexOf(entry) !== i)).toEqual([]);
    for (const folder of ['src/core/', 'src/cli/', 'src/server/', 'src/mcp/', 'src/local/'])
      expect(entries).toContain(folder);
  });
});
