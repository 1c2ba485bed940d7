import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { useGmailSignIn } from '../helpers/gmail-sign-in.js';

/**
 * Without a reachable keychain (no session bus, as in containers) connectr falls back to its
 * encrypted file store, says so, and never writes a secret in plaintext unless asked to.
 */

describe('secrets without a keychain', () => {
  const world = useGmailSignIn({ server: 'oidc' });
  let env: Record<string, string>;
  beforeEach(() => {
    env = world.env('follow', {
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/connectr-bus',
      CONNECTR_VAULT_PASSPHRASE: 'correct horse battery staple',
    });
  });

  it('falls back to the encrypted file store, says so once, and encrypts every secret', async () => {
    const r = await runBin(['auth', 'gmail'], env);
    expect(r.code, r.stderr).toBe(0);
    const vaultFile = join(world.home.dir, 'vault.json');
    expect(r.stderr).toMatch(
      new RegExp(
        `warning: no system keychain is reachable \\(.+\\); secrets go to the encrypted file ${vaultFile}`,
      ),
    );
    expect(r.stderr.match(/no system keychain is reachable/g)).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ store: 'encrypted-file', identity: 'ann@example.com' });

    const token = await runBin(['token', 'gmail'], env);
    expect(token.code, token.stderr).toBe(0);
    const accessToken = token.stdout.trim();
    expect(accessToken.length).toBeGreaterThan(20);
    expect(token.stderr).toBe('');

    const vault = readFileSync(vaultFile, 'utf8');
    expect(vault).not.toContain(accessToken);
    expect(vault).not.toContain('connectr-test-secret');
    expect(JSON.parse(vault)).toMatchObject({ version: 1, kdf: { algorithm: 'scrypt' } });
    expect(statSync(vaultFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(world.home.dir, 'accounts.json')).mode & 0o777).toBe(0o600);
    expect(statSync(world.home.dir).mode & 0o777).toBe(0o700);
  });

  it('refuses a wrong passphrase and asks for a missing one by name', async () => {
    expect((await runBin(['auth', 'gmail'], env)).code).toBe(0);
    const wrong = await runBin(['token', 'gmail'], { ...env, CONNECTR_VAULT_PASSPHRASE: 'not it' });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toContain(
      `error: the passphrase does not unlock ${join(world.home.dir, 'vault.json')}`,
    );
    const missing = await runBin(['token', 'gmail'], { ...env, CONNECTR_VAULT_PASSPHRASE: '' });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("error: connectr's encrypted file store needs its passphrase");
    expect(missing.stderr).toContain('hint: set CONNECTR_VAULT_PASSPHRASE');
  });

  it('writes plaintext only with --insecure-storage, and says so', async () => {
    const r = await runBin(['auth', 'gmail', '--insecure-storage'], {
      ...env,
      CONNECTR_VAULT_PASSPHRASE: '',
    });
    expect(r.code, r.stderr).toBe(0);
    const plain = join(world.home.dir, 'insecure-secrets.json');
    expect(r.stderr).toContain(`warning: --insecure-storage: secrets are stored unencrypted in ${plain}`);
    expect(JSON.parse(r.stdout)).toMatchObject({ store: 'plaintext-file' });
    expect(statSync(plain).mode & 0o777).toBe(0o600);
    const token = await runBin(['token', 'gmail'], { ...env, CONNECTR_VAULT_PASSPHRASE: '' });
    expect(readFileSync(plain, 'utf8')).toContain(token.stdout.trim());
  });

  it('`vault status` says which store is in use and why', async () => {
    expect((await runBin(['auth', 'gmail'], env)).code).toBe(0);
    const r = await runBin(['vault', 'status'], env);
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(status).toMatchObject({
      keychain: { available: false },
      encrypted_file: { path: join(world.home.dir, 'vault.json'), exists: true, secrets: 1 },
      new_secrets_go_to: `encrypted file ${join(world.home.dir, 'vault.json')}`,
      accounts_by_store: { 'encrypted-file': 1 },
    });
  });
});
