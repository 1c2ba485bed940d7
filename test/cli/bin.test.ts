import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { BUILTIN_CONNECTORS } from '../helpers/builtin.js';

/** The real executable, in a child process, as installed by `npm ci`. */
describe('bin/connectr.cjs', () => {
  const home = tempHome();
  afterAll(() => {
    home.cleanup();
  });
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
    version: string;
    bin: Record<string, string>;
  };

  it('is the package bin', () => {
    expect(join(import.meta.dirname, '../..', pkg.bin.connectr ?? '')).toBe(BIN);
  });

  it('prints its version', async () => {
    const r = await runBin(['--version'], home.env);
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('lists connectors as JSON into a pipe', async () => {
    const r = await runBin(['connectors', 'list'], home.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const listed = JSON.parse(r.stdout) as { name: string; version: unknown }[];
    expect(listed.map((c) => c.name)).toEqual(BUILTIN_CONNECTORS);
    // A number, as the daemon's API and `connectors diff --json` give it.
    expect(listed.map((c) => c.version)).toEqual(BUILTIN_CONNECTORS.map(() => 1));
  });

  it('exits 2 on a usage error and 1 on bad input, without a stack trace', async () => {
    const usage = await runBin(['connectors', 'frobnicate'], home.env);
    expect(usage.code).toBe(2);
    const input = await runBin(['connectors', 'show', 'nope'], home.env);
    expect(input.code).toBe(1);
    expect(input.stderr).toMatch(/^error: unknown connector "nope"\n/);
    expect(input.stderr).not.toMatch(/\n\s+at /);
  });

  it('stops quietly when the reader closes the pipe early', () => {
    const shell = `"${process.execPath}" "${BIN}" connectors show gmail | head -c 1 >/dev/null; echo "exit=$?"`;
    const r = spawnSync('sh', ['-c', shell], { env: home.env, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('exit=0\n');
  });
});
