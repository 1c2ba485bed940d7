import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/io.js';
import { tempHome } from '../helpers/home.js';

const root = join(import.meta.dirname, '../..');

/** Small truths of issue #7: what the package and --help promise is there. */
describe('package and help', () => {
  it('ships docs/, so the links of an installed copy work', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('docs');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(existsSync(join(root, link)), link).toBe(true);
  });

  it('README lists every command of `connectr --help`', async () => {
    const home = tempHome();
    try {
      const help = await runCli(['--help'], home.env);
      expect(help.stdout).toContain('130 interrupted');
      const listed = help.stdout.slice(help.stdout.indexOf('Commands:'), help.stdout.indexOf('Examples:'));
      const commands = [...listed.matchAll(/^ {2}([a-z]+) /gm)]
        .map((m) => m[1] ?? '')
        .filter((c) => c !== 'help');
      expect(commands.length).toBeGreaterThan(5);
      const readme = readFileSync(join(root, 'README.md'), 'utf8');
      const table = readme.slice(readme.indexOf('## What works today'), readme.indexOf('Output is a table'));
      for (const command of commands) expect(table, command).toMatch(new RegExp(`\`connectr ${command}\\b`));
    } finally {
      home.cleanup();
    }
  });
});
