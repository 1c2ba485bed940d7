import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';

/** connectr's own files damaged or misplaced: a clear exit 1 naming the file, and nothing lost. */
describe('damaged or misplaced data files', () => {
  let home: ReturnType<typeof tempHome>;
  beforeEach(() => {
    home = tempHome();
  });
  afterEach(() => {
    home.cleanup();
  });

  it.each([
    ['an array', '[]'],
    ['accounts that are a number', '{"version":1,"accounts":5,"defaults":{},"apps":{}}'],
    [
      'an account missing fields',
      '{"version":1,"accounts":[{"connector":"gmail","account":"default"}],"defaults":{},"apps":{}}',
    ],
  ])('accounts.json of the wrong shape (%s) is named, with the fix, and left as it was', async (_, text) => {
    const file = join(home.dir, 'accounts.json');
    writeFileSync(file, text);
    for (const args of [
      ['accounts', 'list'],
      ['token', 'gmail'],
      ['accounts', 'default', 'gmail', 'x'],
    ]) {
      const r = await runBin(args, { ...home.env, CONNECTR_GMAIL_CLIENT_ID: 'id' });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`error: ${file} is not connectr's account list (accounts.json)`);
      expect(r.stderr).toContain('hint: restore it from a backup, or move it away');
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('CONNECTR_HOME naming a regular file is named, never an internal error', async () => {
    const file = join(home.dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const env = { ...home.env, CONNECTR_HOME: file, CONNECTR_GMAIL_CLIENT_ID: 'id' };
    for (const args of [
      ['accounts', 'list'],
      ['token', 'gmail'],
      ['connectors', 'list'],
    ]) {
      const r = await runBin(args, env);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toContain('hint: point CONNECTR_HOME');
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('CONNECTR_VAULT_PASSPHRASE shorter than 8 characters does not create a vault', async () => {
    const dir = join(home.dir, 'connectors');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'keyed.yaml'),
      'name: keyed\ndisplay_name: Keyed\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\n' +
        'hosts:\n  api: https://api.example.com\nauth:\n  type: api_key\n  in: header\n  name: X-Api-Key\n' +
        'endpoints:\n  me:\n    summary: Who am I.\n    method: GET\n    path: /me\n',
    );
    const env = { ...home.env, CONNECTR_STORE: 'file', CONNECTR_VAULT_PASSPHRASE: 'short' };
    const r = await runBin(['auth', 'keyed', '--with-token'], env, { input: 'k-123\n' });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('error: CONNECTR_VAULT_PASSPHRASE is too short for a new vault (5 characters');
    expect(r.stderr).toContain(
      'hint: set CONNECTR_VAULT_PASSPHRASE to a passphrase of at least 8 characters',
    );
    const ok = await runBin(
      ['auth', 'keyed', '--with-token'],
      { ...env, CONNECTR_VAULT_PASSPHRASE: 'long enough' },
      {
        input: 'k-123\n',
      },
    );
    expect(ok.code, ok.stderr).toBe(0);
  });
});
