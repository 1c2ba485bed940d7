import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Help, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { testIO } from '../helpers/io.js';

/** docs/cli.md against connectr's own command tree: a reader finds every command and flag. */

const markdown = readFileSync(join(import.meta.dirname, '../../docs/cli.md'), 'utf8');
/** The overview at the top, before the first section: where a reader looks for the commands. */
const overview = markdown.slice(0, markdown.indexOf('\n## '));

/** Every visible command of the tree as `path`, with its visible long flags. */
interface Flag {
  long: string;
  short: string | undefined;
}

function commands(command: Command, path: string[] = []): { path: string; flags: Flag[] }[] {
  const help = new Help();
  const found: { path: string; flags: Flag[] }[] = [];
  for (const sub of help.visibleCommands(command)) {
    if (sub.name() === 'help') continue;
    const here = [...path, sub.name()];
    const flags = help
      .visibleOptions(sub)
      .filter((option) => option.long !== undefined && option.long !== '--help')
      .map((option) => ({ long: option.long ?? '', short: option.short }));
    found.push({ path: here.join(' '), flags }, ...commands(sub, here));
  }
  return found;
}

const tree = commands(buildProgram(testIO(), {}, new AbortController().signal));

describe('docs/cli.md', () => {
  it('its command list names every command and subcommand connectr has', () => {
    expect(tree.map((c) => c.path)).toContain('connectors import openapi');
    const missing = tree.filter((c) => !overview.includes(`\`${c.path}`)).map((c) => c.path);
    expect(missing).toEqual([]);
  });

  it('documents every flag of every command', () => {
    const documented = (flag: string): boolean => new RegExp(`${flag}(?![\\w-])`).test(markdown);
    const missing = tree.flatMap((c) =>
      c.flags
        .filter((flag) => !documented(flag.long) && !(flag.short !== undefined && documented(flag.short)))
        .map((flag) => `${c.path} ${flag.long}`),
    );
    expect(missing).toEqual([]);
  });

  it('lists no command that does not exist', () => {
    const paths = new Set(tree.map((c) => c.path));
    // The first cell of each row: one or more commands, each in backquotes.
    const cells = [...overview.matchAll(/^\| \[?(`[^|]*?)\]?(?:\(#[^)]*\))? +\|/gm)].map((m) => m[1] ?? '');
    const listed = cells.flatMap((cell) =>
      [...cell.matchAll(/`([^`]*)`/g)].map((m) =>
        (m[1] ?? '')
          .split(' ')
          .filter((word) => /^[a-z-]+$/.test(word))
          .join(' '),
      ),
    );
    expect(listed.length).toBeGreaterThan(20);
    expect(listed.filter((path) => !paths.has(path))).toEqual([]);
  });

  it('links only to sections it has', () => {
    // GitHub's anchors: lower case, punctuation other than - dropped, spaces become -.
    const anchors = new Set(
      [...markdown.matchAll(/^#+ (.*)$/gm)].map((m) =>
        (m[1] ?? '')
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const links = [...markdown.matchAll(/\]\(#([^)]*)\)/g)].map((m) => m[1] ?? '');
    expect(links.length).toBeGreaterThan(20);
    expect(links.filter((link) => !anchors.has(link))).toEqual([]);
  });
});
