import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempHome } from '../helpers/home.js';
import { runCli } from '../helpers/io.js';

/**
 * Golden tests of the built-in languages: what `connectr generate` makes for the fixture
 * connectors (every feature of the format: test/fixtures/generate/connectors) is pinned in
 * test/fixtures/generate/golden/<language>/. A change to a template shows here as a diff to
 * review; `UPDATE_GOLDEN=1 npx vitest run test/generate` rewrites the goldens. The built-in
 * connectors' clients, in the SDKs, must be what `npm run generate` makes now.
 */

const FIXTURES = join(import.meta.dirname, '../fixtures/generate');
const GOLDEN = join(FIXTURES, 'golden');
const LANGUAGES = ['typescript', 'python', 'go'];

function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(root);
  return out;
}

describe('generated clients for the fixture connectors', () => {
  const home = tempHome();
  const out = join(home.dir, 'out');
  beforeAll(async () => {
    const r = await runCli(
      [
        '--connectors-dir',
        join(FIXTURES, 'connectors'),
        'generate',
        '--lang',
        LANGUAGES.join(','),
        '--connector',
        'everything',
        '--connector',
        'keyed',
        '--connector',
        'basic',
        '--connector',
        'open-data',
        '--out',
        out,
      ],
      home.env,
    );
    expect(r.code, r.stderr).toBe(0);
    if (process.env.UPDATE_GOLDEN === '1') {
      rmSync(GOLDEN, { recursive: true, force: true });
      for (const file of filesUnder(out)) {
        mkdirSync(dirname(join(GOLDEN, file)), { recursive: true });
        writeFileSync(join(GOLDEN, file), readFileSync(join(out, file)));
      }
    }
  }, 60_000);
  afterAll(() => {
    home.cleanup();
  });

  for (const language of LANGUAGES) {
    it(`${language}: the same files, byte for byte, as the goldens`, () => {
      const made = filesUnder(join(out, language));
      expect(made).toEqual(filesUnder(join(GOLDEN, language)));
      for (const file of made) {
        expect(readFileSync(join(out, language, file), 'utf8'), `${language}/${file}`).toBe(
          readFileSync(join(GOLDEN, language, file), 'utf8'),
        );
      }
    });
  }
});

describe('the clients in the SDKs', () => {
  it('are what the templates make now from the built-in connectors (npm run generate)', async () => {
    const home = tempHome();
    try {
      const r = await runCli(
        ['generate', '--builtin', '--out', join(import.meta.dirname, '../../sdk'), '--check'],
        home.env,
      );
      expect(r.code, `${r.stderr}\nrun \`npm run generate\` and commit the result`).toBe(0);
    } finally {
      home.cleanup();
    }
  }, 60_000);
});
