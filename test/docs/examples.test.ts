import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RESERVED_FLAGS } from '../../src/core/connector/checks.js';
import { parseConnector } from '../../src/core/connector/load.js';
import { runCli } from '../helpers/io.js';
import { tempHome } from '../helpers/home.js';

const root = join(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

/** The fenced blocks of `lang` under the heading `heading` in a Markdown file. */
function blocksUnder(markdown: string, heading: string, lang: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no heading ${heading}`);
  const rest = markdown.slice(start + heading.length + 2);
  // Up to the next heading of the same level (code blocks hold `# comments`, never `## `).
  const end = rest.search(/\n## /);
  const section = end === -1 ? rest : rest.slice(0, end);
  // Fences are paired in order, so that a closing fence is never taken for an opening one.
  return [...section.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)]
    .filter((m) => m[1] === lang)
    .map((m) => m[2] ?? '');
}

describe('documentation examples', () => {
  const home = tempHome();
  const dir = mkdtempSync(join(tmpdir(), 'connectr-docs-'));
  afterAll(() => {
    home.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const [example] = blocksUnder(read('docs/connectors.md'), '## A complete example', 'yaml');

  it('the complete connector example in docs/connectors.md is valid', () => {
    expect(example).toBeDefined();
    const result = parseConnector(example ?? '', { file: 'github.yaml', origin: 'extra' });
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('gives the flags the docs say it gives', async () => {
    writeFileSync(join(dir, 'github.yaml'), example ?? '');
    const r = await runCli(['connectors', 'show', 'github', '--connectors-dir', dir], home.env, {
      tty: true,
    });
    expect(r.code).toBe(0);
    for (const flag of ['--visibility', '--sort', '--per-page', '--page', '--text <string>']) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('the validation example in docs/connectors.md is what `connectors validate` prints', async () => {
    const [shown] = blocksUnder(read('docs/connectors.md'), '## Checking a file', '').filter((b) =>
      b.startsWith('$ connectr connectors validate ./github.yaml\n'),
    );
    expect(shown).toBeDefined();
    // The complete example with the two mistakes the text names.
    const broken = (example ?? '')
      .replace(/(list_repos:[\s\S]*?method: )GET/, '$1FETCH')
      .replace(/(per_page:[\s\S]*?)minimum: 1/, '$1minimun: 1');
    const folder = mkdtempSync(join(dir, 'validate-'));
    writeFileSync(join(folder, 'github.yaml'), broken);
    const r = await runCli(['connectors', 'validate', join(folder, 'github.yaml')], home.env, { tty: true });
    expect(r.code).toBe(1);
    const printed = `$ connectr connectors validate ./github.yaml\n${r.stdout}${r.stderr}`;
    expect(printed.replaceAll(folder, '/home/ann')).toBe(shown);
  });

  it('docs/connectors.md names every flag a param may not take, and no other', () => {
    const text = read('docs/connectors.md').replace(/\s+/g, ' ');
    const sentence = /connectr's own flags cannot be param flags: ([^.]*)\./.exec(text)?.[1] ?? '';
    const named = [...sentence.matchAll(/`([^`]*)`/g)].map((m) => m[1]);
    expect(named).toEqual([...RESERVED_FLAGS].sort());
  });

  it('the OpenAPI import example in docs/connectors.md gives the output the docs show', async () => {
    const [input, output] = blocksUnder(read('docs/connectors.md'), '## Import from OpenAPI', 'yaml');
    expect(input).toBeDefined();
    const source = join(dir, 'todo.yaml');
    const out = join(dir, 'todo-connector.yaml');
    writeFileSync(source, input ?? '');
    const r = await runCli(['connectors', 'import', 'openapi', source, '--out', out], home.env);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').replace(source, 'todo.yaml')).toBe(output);
  });

  it.skipIf(spawnSync('go', ['version']).status !== 0)(
    'the Go snippet of the README compiles against sdk/go',
    { timeout: 120_000 },
    () => {
      const [snippet] = [...read('README.md').matchAll(/^```go\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
      expect(snippet).toBeDefined();
      const module = mkdtempSync(join(dir, 'go-'));
      writeFileSync(
        join(module, 'go.mod'),
        `module readme\n\ngo 1.23\n\nrequire github.com/connectr/connectr/sdk/go v0.0.0\n\nreplace github.com/connectr/connectr/sdk/go => ${join(root, 'sdk/go')}\n`,
      );
      writeFileSync(
        join(module, 'main.go'),
        `package main\n\nimport (\n\t"context"\n\t"fmt"\n\n\tconnectr "github.com/connectr/connectr/sdk/go"\n\t"github.com/connectr/connectr/sdk/go/connectors"\n)\n\nfunc run(ctx context.Context) error {\n${snippet ?? ''}\treturn nil\n}\n\nfunc main() { _ = run(context.Background()) }\n`,
      );
      const r = spawnSync('go', ['vet', '.'], {
        cwd: module,
        encoding: 'utf8',
        env: { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local', GOWORK: 'off' },
        timeout: 110_000,
      });
      expect(r.status, `${snippet ?? ''}\n${r.stderr}`).toBe(0);
    },
  );

  it('the README gives the two set-up commands, and CI runs its test command', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm ci && npx connectr connectors list');
    expect(readme).toContain('```sh\nnpm test\n```');
    expect(read('.ci/run')).toMatch(/^npm test$/m);
  });

  it('every `connectr call` example in the README and docs/cli.md is a valid command', async () => {
    const lines = [read('README.md'), read('docs/cli.md')]
      .flatMap((text) => text.split('\n'))
      .map((line) => /(?:^|\|\s*)(?:npx )?connectr call (\S+ \S+.*)$/.exec(line.trim())?.[1])
      .filter((line): line is string => line !== undefined && !line.includes('<'));
    expect(lines.length).toBeGreaterThanOrEqual(8);
    const env = {
      ...home.env,
      CONNECTR_GMAIL_TOKEN: 't',
      CONNECTR_DROPBOX_TOKEN: 't',
      CONNECTR_ONEDRIVE_TOKEN: 't',
    };
    for (const line of lines) {
      const r = await runCli(['call', ...shellWords(line), '--dry-run'], env);
      expect(r.code, `connectr call ${line}\n${r.stderr}`).toBe(0);
    }
  });
});

/** Splits a command line as a POSIX shell would for plain words and quoted strings. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}
