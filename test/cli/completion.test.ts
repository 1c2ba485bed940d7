import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';

/**
 * Completion through the shells' own machinery: bash's `complete -F` function given
 * COMP_WORDS/COMP_CWORD, zsh's function with `words`/`CURRENT` (compadd and _files replaced by
 * functions that print what they were given), fish's `complete -C`. The scripts run the real
 * binary through a `connectr` on PATH that logs each start, so the tests also see when the
 * index is rebuilt and when it is only read.
 */

const home = tempHome();
const binDir = join(home.dir, 'bin');
const extraDir = join(home.dir, 'extra');
const starts = join(home.dir, 'starts.log');
const marker = join(home.dir, 'PWNED');
const scripts: Record<string, string> = {};
let env: Record<string, string>;

function connectorYaml(name: string, extra = ''): string {
  return `name: ${name}
display_name: ${name}
version: 1
docs_url: https://example.com/docs
description: A test connector.
hosts:
  api: https://${name}.example.com
auth:
  type: none
endpoints:
  list_items:
    summary: Items.
    method: POST
    path: /items
    params:
      order:
        in: query
        enum: [newest, oldest]
      attachment:
        in: raw
        type: file
${extra}`;
}

const hostileEnum = `  hostile:
    summary: Values that try to reach a shell.
    method: GET
    path: /h
    params:
      mode:
        in: query
        enum: ['$(touch ${marker})', '\`touch ${marker}\`', 'a;touch ${marker}']
`;

function run(shell: string, args: readonly string[], input = ''): { stdout: string; stderr: string } {
  const r = spawnSync(shell, args, { env, input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Candidates bash's completion function puts in COMPREPLY for a command line ending in `words`. */
/** The test's own connectors and the built-in ones (however many connectors/ holds), sorted. */
const ALL_CONNECTORS = [
  'alpha',
  'beta',
  'delta',
  'evil',
  'gamma',
  ...readdirSync(join(import.meta.dirname, '..', '..', 'connectors'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length)),
].sort();
const startingWith = (prefix: string): string[] => ALL_CONNECTORS.filter((name) => name.startsWith(prefix));

/** Dates a folder and everything in it back to `when`. */
function backdate(path: string, when: Date): void {
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) backdate(join(path, entry), when);
  utimesSync(path, when, when);
}

function bash(...words: string[]): string[] {
  const { stdout, stderr } = run('bash', [
    '--norc',
    '--noprofile',
    '-c',
    'source "$0"; complete -p connectr >/dev/null || exit 9; COMP_WORDS=(connectr "$@"); COMP_CWORD=$#; _connectr; printf "%s\\n" "${COMPREPLY[@]}"',
    scripts.bash ?? '',
    ...words,
  ]);
  expect(stderr).toBe('');
  return stdout.split('\n').filter(Boolean);
}

const has = (shell: string): boolean => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

beforeAll(() => {
  mkdirSync(binDir);
  mkdirSync(extraDir);
  writeFileSync(
    join(binDir, 'connectr'),
    `#!/bin/sh\necho "$*" >> '${starts}'\nexec '${process.execPath}' '${BIN}' "$@"\n`,
  );
  chmodSync(join(binDir, 'connectr'), 0o755);
  for (const name of ['alpha', 'beta', 'gamma', 'delta'])
    writeFileSync(join(extraDir, `${name}.yaml`), connectorYaml(name));
  writeFileSync(join(extraDir, 'evil.yaml'), connectorYaml('evil', hostileEnum));
  // Broken files: a name that tries command substitution (refused by the schema), and no YAML.
  writeFileSync(join(extraDir, 'inject.yaml'), connectorYaml(`$(touch ${marker})`));
  writeFileSync(join(extraDir, 'broken.yaml'), ': : [not yaml');
  writeFileSync(
    join(home.dir, 'accounts.json'),
    JSON.stringify({
      version: 1,
      accounts: [
        {
          connector: 'alpha',
          account: 'work',
          auth_type: 'api_key',
          scopes: [],
          store: 'plaintext-file',
          created_at: '2024-01-01T00:00:00Z',
        },
        {
          connector: 'alpha',
          account: `x;touch ${marker}`,
          auth_type: 'api_key',
          scopes: [],
          store: 'plaintext-file',
          created_at: '2024-01-01T00:00:00Z',
        },
      ],
      defaults: {},
      apps: {},
    }),
  );
  env = {
    ...home.env,
    PATH: `${binDir}:${home.env.PATH}`,
    CONNECTR_CONNECTORS_DIR: extraDir,
    NO_COLOR: '1',
  };
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = spawnSync(process.execPath, [BIN, 'completion', shell], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(0);
    scripts[shell] = join(home.dir, `completion.${shell}`);
    writeFileSync(scripts[shell], r.stdout);
  }
}, 60_000);

afterAll(() => home.cleanup());

describe('connectr completion', () => {
  it('refuses an unknown shell, naming the three', () => {
    const r = spawnSync(process.execPath, [BIN, 'completion', 'pwsh'], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('bash, zsh, fish');
    const help = spawnSync(process.execPath, [BIN, 'completion', '--help'], {
      env,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(help.stdout).toContain("echo 'source <(connectr completion bash)' >> ~/.bashrc");
  });
});

describe('bash', () => {
  it('completes commands and subcommands from the command tree, not hidden ones', () => {
    expect(bash('co')).toEqual(['connectors', 'connections', 'completion']);
    expect(bash('')).not.toContain('__complete');
    expect(bash('connectors', '')).toEqual(['list', 'show', 'diff', 'validate', 'import', 'schema']);
    expect(bash('completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(bash('auth', '--dev')).toEqual(['--device']);
  });

  it('completes connector names (built-in and from CONNECTR_CONNECTORS_DIR) wherever a connector is the argument', () => {
    const all = ALL_CONNECTORS;
    expect(bash('call', '')).toEqual(all);
    expect(bash('auth', 'g')).toEqual(startingWith('g'));
    expect(bash('connectors', 'show', 'd')).toEqual(startingWith('d'));
    expect(bash('--json', 'token', 'al')).toEqual(['alpha']);
    expect(bash('accounts', 'b')).toEqual(['beta']);
    expect(bash('apps', 'set', 'one')).toEqual(['onedrive']);
  });

  it("completes an endpoint's names, its flags as call builds them, and enum values", () => {
    expect(bash('call', 'gmail', 'list_')).toEqual(['list_messages', 'list_labels', 'list_threads']);
    expect(bash('call', 'gmail', 'list_messages', '--max')).toEqual(['--max-results', '--max-pages']);
    expect(bash('call', 'alpha', 'list_items', '--order', '')).toEqual(['newest', 'oldest']);
    expect(bash('call', 'alpha', 'list_items', '--order', 'n')).toEqual(['newest']);
    expect(bash('call', 'gmail', 'list_messages', '')).toContain('--label-ids');
  });

  it('completes file names after a file flag, and account names after --account', () => {
    writeFileSync(join(home.dir, 'upload-me.txt'), 'x');
    expect(bash('call', 'alpha', 'list_items', '--attachment', `${home.dir}/upload`)).toEqual([
      `${home.dir}/upload-me.txt`,
    ]);
    expect(bash('call', 'alpha', 'list_items', '-o', `${home.dir}/upload`)).toEqual([
      `${home.dir}/upload-me.txt`,
    ]);
    expect(bash('call', 'alpha', 'list_items', '--account', 'w')).toEqual(['work']);
    expect(bash('token', 'alpha', '--account', '')).toEqual(['work', `x;touch ${marker}`]);
  });

  it('offers what definitions and accounts hold as data, never evaluated, and skips broken files silently', () => {
    expect(bash('call', 'evil', 'hostile', '--mode', '')).toEqual([
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `a;touch ${marker}`,
    ]);
    expect(bash('call', '$(touch')).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });

  it('reads the index without starting connectr, and rebuilds it when a definition changes', () => {
    // The index counts anything changed within a second before its build as newer than itself
    // (an edit made during a build must not be lost): files the setup just wrote would make
    // the next completion rebuild once more, so they are dated back first.
    backdate(home.dir, new Date(Date.now() - 10_000));
    bash('call', '');
    const before = readFileSync(starts, 'utf8');
    expect(bash('call', 'beta', '')).toEqual(['list_items']);
    expect(readFileSync(starts, 'utf8')).toBe(before);
    const future = new Date(Date.now() + 5000);
    writeFileSync(
      join(extraDir, 'beta.yaml'),
      connectorYaml('beta', '  more:\n    summary: More.\n    method: GET\n    path: /more\n'),
    );
    utimesSync(join(extraDir, 'beta.yaml'), future, future);
    expect(bash('call', 'beta', '')).toEqual(['list_items', 'more']);
    expect(readFileSync(starts, 'utf8')).not.toBe(before);
    // A new file in a watched folder counts too.
    writeFileSync(join(extraDir, 'epsilon.yaml'), connectorYaml('epsilon'));
    utimesSync(extraDir, future, future);
    expect(bash('call', 'eps')).toEqual(['epsilon']);
    rmSync(join(extraDir, 'epsilon.yaml'));
    utimesSync(extraDir, new Date(Date.now() + 10_000), new Date(Date.now() + 10_000));
  });

  it('follows --connectors-dir typed on the command line', () => {
    const other = join(home.dir, 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'zeta.yaml'), connectorYaml('zeta'));
    expect(bash('--connectors-dir', other, 'call', 'ze')).toEqual(['zeta']);
    expect(bash('call', 'ze')).toEqual([]);
  });
});

describe.skipIf(!has('zsh'))('zsh (skipped when zsh is not installed)', () => {
  const zsh = (...words: string[]): string[] => {
    const { stdout, stderr } = run('zsh', [
      '-f',
      '-c',
      'compdef() { :; }; compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }; _files() { print -r -- ":files $*"; }; source "$0"; words=(connectr "$@"); CURRENT=$#words; _connectr',
      scripts.zsh ?? '',
      ...words,
    ]);
    expect(stderr).toBe('');
    return stdout.split('\n').filter(Boolean);
  };
  it('completes commands, connectors, endpoints, flags, enum values and files', () => {
    expect(zsh('connectors', '')).toEqual(['list', 'show', 'diff', 'validate', 'import', 'schema']);
    expect(zsh('call', 'g')).toEqual(startingWith('g'));
    expect(zsh('call', 'gmail', 'list_t')).toEqual(['list_threads']);
    expect(zsh('call', 'gmail', 'list_messages', '--max')).toEqual(['--max-results', '--max-pages']);
    expect(zsh('call', 'alpha', 'list_items', '--order', '')).toEqual(['newest', 'oldest']);
    expect(zsh('call', 'alpha', 'list_items', '-o', '')).toEqual([':files ']);
    expect(zsh('call', 'evil', 'hostile', '--mode', '')).toContain(`$(touch ${marker})`);
    expect(existsSync(marker)).toBe(false);
  });
});

describe.skipIf(!has('fish'))('fish (skipped when fish is not installed)', () => {
  const fish = (line: string): string[] => {
    const { stdout, stderr } = run('fish', [
      '--no-config',
      '-c',
      'source $argv[1]; complete -C $argv[2]',
      scripts.fish ?? '',
      line,
    ]);
    expect(stderr).toBe('');
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0] ?? '');
  };
  it('completes commands, connectors, endpoints, flags, enum values and files', () => {
    expect(fish('connectr connectors s')).toEqual(['schema', 'show']);
    expect(fish('connectr call g')).toEqual(startingWith('g'));
    expect(fish('connectr call gmail list_t')).toEqual(['list_threads']);
    expect(fish('connectr call gmail list_messages --max')).toEqual(['--max-pages', '--max-results']);
    expect(fish('connectr call alpha list_items --order ')).toEqual(['newest', 'oldest']);
    expect(fish(`connectr call alpha list_items -o ${home.dir}/upload`)).toEqual([
      `${home.dir}/upload-me.txt`,
    ]);
    expect(fish('connectr call evil hostile --mode ')).toContain(`$(touch ${marker})`);
    expect(existsSync(marker)).toBe(false);
  });
});
