import { readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { endpointCommand } from '../../../src/cli/calls/endpoint-flags.js';
import { createContext } from '../../../src/cli/context.js';
import { addGlobalOptions, commandIndex, splitGlobals } from '../../../src/cli/globals.js';
import { localRegistryOptions } from '../../../src/core/connector/local-dirs.js';
import { loadRegistry } from '../../../src/core/connector/registry.js';
import { resolvePaths } from '../../../src/core/paths.js';
import { testIO } from '../../helpers/io.js';

/**
 * The CLI's glue known in one place: the global options (declared, found, split out of `call`'s
 * arguments), the connector directories (CONNECTR_CONNECTORS_DIR read once), and commands that
 * import no other command's files.
 */

const root = join(import.meta.dirname, '../../..');

function globalsOf(command: Command): [string, string][] {
  return command.options
    .filter((o) => ['--json', '--no-color', '--connectors-dir'].includes(o.long ?? ''))
    .map((o) => [o.flags, o.description]);
}

describe('global options', () => {
  it('are the same, with the same words, on the program and in every endpoint help', async () => {
    const gmail = (await loadRegistry()).require('gmail');
    const endpoint = gmail.endpoints[0];
    if (!endpoint) throw new Error('gmail has no endpoints');
    const program = globalsOf(addGlobalOptions(new Command('connectr')));
    expect(program.map(([flags]) => flags)).toEqual(['--json', '--no-color', '--connectors-dir <dir>']);
    expect(globalsOf(endpointCommand(gmail, endpoint, testIO()))).toEqual(program);
  });

  it('are stepped over to find the command word, a directory value included', () => {
    expect(commandIndex(['call', 'gmail'])).toBe(0);
    expect(commandIndex(['--json', '--connectors-dir', 'call', 'auth'])).toBe(3);
    expect(commandIndex(['--connectors-dir=d', 'call'])).toBe(1);
    expect(commandIndex(['--json'])).toBe(1);
    expect(commandIndex([])).toBe(0);
  });

  it("are taken out of call's arguments wherever they stand, and nothing else is", () => {
    expect(
      splitGlobals([
        'gmail',
        '--json',
        'get_profile',
        '--connectors-dir',
        'a',
        '--connectors-dir=b',
        '--no-color',
      ]),
    ).toEqual({
      globals: { json: true, color: false, connectorsDir: ['a', 'b'] },
      rest: ['gmail', 'get_profile'],
    });
    // A dangling --connectors-dir is no directory: commander then reports it as an unknown flag.
    expect(splitGlobals(['gmail', '--connectors-dir'])).toEqual({
      globals: {},
      rest: ['gmail', '--connectors-dir'],
    });
    expect(splitGlobals(['--jsonx', '--json=1', '--no-colour'])).toEqual({
      globals: {},
      rest: ['--jsonx', '--json=1', '--no-colour'],
    });
  });
});

describe('connector directories', () => {
  it("are CONNECTR_CONNECTORS_DIR's, then the given ones, for the CLI and connectr/local alike", () => {
    const env = { CONNECTR_HOME: '/nowhere', CONNECTR_CONNECTORS_DIR: ['x', '', 'y'].join(delimiter) };
    const options = localRegistryOptions(resolvePaths(env), env, ['z']);
    expect(options.extraDirs).toEqual(['x', 'y', 'z']);
    expect(options.userDir).toBe(resolvePaths(env).userConnectorsDir);
    const ctx = createContext(testIO(), env, { connectorsDir: ['z'] }, new AbortController().signal);
    expect(ctx.connectorDirs).toEqual(options.extraDirs);
  });

  it('read CONNECTR_CONNECTORS_DIR in one module only', () => {
    const readers = sources('src').filter((file) =>
      /\.CONNECTR_CONNECTORS_DIR\b/.test(readFileSync(join(root, file), 'utf8')),
    );
    expect(readers).toEqual(['src/core/connector/local-dirs.ts']);
  });
});

describe('CLI commands', () => {
  it("import no other command's files", () => {
    const crossing: string[] = [];
    for (const file of sources('src/cli/commands')) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const match of text.matchAll(/from '\.\.\/([\w-]+)\/|import\('\.\.\/([\w-]+)\//g))
        crossing.push(`${file} -> ${match[1] ?? match[2] ?? ''}`);
    }
    expect(crossing).toEqual([]);
  });
});

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1));
}
