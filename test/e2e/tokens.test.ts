import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { useGmailSignIn } from '../helpers/gmail-sign-in.js';
import { runCli } from '../helpers/io.js';
import { BROWSER_CLIENTS } from '../helpers/oidc-server.js';
import { STORE_VARIANTS } from '../helpers/stores.js';

/**
 * After sign-in: `connectr token` refreshes (with rotation, exactly once under concurrency),
 * `connectr accounts` lists, `connectr logout` revokes and deletes. Real processes, a strict
 * real authorization server (oidc-provider: a rotated refresh token used again is refused and
 * revokes the grant), on each secret store: the real keychain where there is one, the
 * encrypted file store everywhere.
 */

type TokenBody = Record<string, unknown>;

describe.each(STORE_VARIANTS)('tokens after sign-in, with the $name store', (store) => {
  describe.skipIf(!store.available)(`(${store.name})`, () => {
    tokenTests(store);
  });
});

function tokenTests(store: (typeof STORE_VARIANTS)[number]): void {
  const world = useGmailSignIn({ server: 'oidc' });
  let env: Record<string, string>;
  beforeEach(() => {
    env = world.env('follow', store.env);
  });

  /** Lets `change` rewrite the body of the next token response. */
  function nextTokenResponse(change: (body: TokenBody) => void): void {
    world.auth.onceTokenResponse((response) => {
      change(response.body);
    });
  }

  /** A refresh made by someone else (another copy of the app), straight at the token endpoint. */
  async function refreshElsewhere(refreshToken: string): Promise<Response> {
    const client = BROWSER_CLIENTS[0];
    return fetch(`${world.auth.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: client?.id ?? '',
        client_secret: client?.secret ?? '',
      }).toString(),
    });
  }

  async function signIn(account = 'default', expiresIn?: number): Promise<void> {
    if (expiresIn !== undefined) nextTokenResponse((b) => (b.expires_in = expiresIn));
    const r = await runBin(['auth', 'gmail', '--account', account], env);
    expect(r.code, r.stderr).toBe(0);
  }

  async function stored(account = 'default'): Promise<Record<string, string>> {
    return JSON.parse((await store.secret(world.home.dir, 'connectr:gmail', account)) ?? '{}') as Record<
      string,
      string
    >;
  }

  it('prints the stored access token without asking the server', async () => {
    await signIn();
    const before = world.auth.tokenRequests.length;
    const r = await runBin(['token', 'gmail'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${(await stored()).access_token ?? ''}\n`);
    expect(world.auth.tokenRequests.length).toBe(before);
  });

  it('refreshes an expiring token and saves the rotated refresh token', async () => {
    await signIn('default', 30);
    const old = await stored();
    const r = await runBin(['token', 'gmail'], env);
    expect(r.code, r.stderr).toBe(0);
    const now = await stored();
    expect(world.auth.tokenRequests.at(-1)).toMatchObject({
      grant_type: 'refresh_token',
      refresh_token: old.refresh_token,
    });
    expect(now.access_token).not.toBe(old.access_token);
    expect(now.refresh_token).not.toBe(old.refresh_token);
    expect(r.stdout).toBe(`${now.access_token ?? ''}\n`);
    const metadata = JSON.parse(readFileSync(join(world.home.dir, 'accounts.json'), 'utf8')) as {
      accounts: { expires_at: string }[];
    };
    expect(Date.parse(metadata.accounts[0]?.expires_at ?? '') - Date.now()).toBeGreaterThan(3000_000);
  });

  it('keeps the refresh token when the provider sends none', async () => {
    await signIn('default', 30);
    const old = await stored();
    // As Google does: the refresh token stays valid and the response does not repeat it.
    world.auth.rotateNextRefresh(false);
    nextTokenResponse((b) => delete b.refresh_token);
    expect((await runBin(['token', 'gmail'], env)).code).toBe(0);
    const now = await stored();
    expect(now.access_token).not.toBe(old.access_token);
    expect(now.refresh_token).toBe(old.refresh_token);
    // The server still honours the kept refresh token.
    expect((await refreshElsewhere(now.refresh_token ?? '')).status).toBe(200);
  });

  it('20 concurrent `connectr token` processes on an expired token make exactly one token request', async () => {
    await signIn('default', 1);
    const before = world.auth.tokenRequests.length;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => runBin(['token', 'gmail'], env, { timeoutMs: 60_000 })),
    );
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const refreshes = world.auth.tokenRequests.slice(before);
    expect(
      refreshes.map((t) => t.grant_type),
      JSON.stringify(refreshes),
    ).toEqual(['refresh_token']);
    const printed = new Set(results.map((r) => r.stdout));
    expect(printed.size).toBe(1);
    expect([...printed][0]).toBe(`${(await stored()).access_token ?? ''}\n`);
  }, 90_000);

  it('ends with exit code 3 and the command that fixes it on invalid_grant', async () => {
    await signIn('work', 30);
    // Another copy of the app refreshes first: the server rotates, and the refresh token
    // connectr holds is now a used one, which the server refuses (and revokes the grant).
    expect((await refreshElsewhere((await stored('work')).refresh_token ?? '')).status).toBe(200);
    const r = await runBin(['token', 'gmail', '--account', 'work'], env);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      'error: the sign-in of gmail account "work" is no longer valid (invalid_grant: grant request is invalid)\n' +
        'hint: sign in again: connectr auth gmail --account work\n',
    );
  });

  it('logout revokes the grant at the provider and deletes secrets and metadata', async () => {
    await signIn();
    const secret = await stored();
    const r = await runBin(['logout', 'gmail'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ connector: 'gmail', account: 'default', revoked: true });
    await expect
      .poll(() => world.auth.revocations)
      .toEqual([expect.objectContaining({ token: secret.refresh_token, token_type_hint: 'refresh_token' })]);
    // The server no longer honours the grant.
    expect((await refreshElsewhere(secret.refresh_token ?? '')).status).toBe(400);
    expect(await store.secret(world.home.dir, 'connectr:gmail', 'default')).toBeNull();
    const metadata = JSON.parse(readFileSync(join(world.home.dir, 'accounts.json'), 'utf8')) as {
      accounts: unknown[];
    };
    expect(metadata.accounts).toEqual([]);
    const after = await runBin(['token', 'gmail'], env);
    expect(after.code).toBe(3);
    expect(after.stderr).toContain('error: not signed in to Gmail');
    expect(after.stderr).toContain(
      'hint: run `connectr auth gmail` (or set CONNECTR_GMAIL_TOKEN for automation)',
    );
  });

  it('lists accounts, switches the default, and shows an environment token taking precedence', async () => {
    await signIn('personal');
    await signIn('work');
    const table = await runCli(['accounts'], env, { tty: true, columns: 160 });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^CONNECTOR\s+ACCOUNT\s+IDENTITY\s+EXPIRES\s+STORE\s+SCOPES/);
    expect(table.stdout).toMatch(
      new RegExp(`gmail\\s+personal \\*\\s+ann@example\\.com\\s+in \\d+ min\\s+${store.name}`),
    );
    expect(table.stdout).toMatch(/gmail\s+work\s+ann@example\.com/);

    expect((await runCli(['accounts', 'default', 'gmail', 'work'], env)).code).toBe(0);
    const token = await runBin(['token', 'gmail'], env);
    expect(token.stdout).toBe(`${(await stored('work')).access_token ?? ''}\n`);

    const withEnv = { ...env, CONNECTR_GMAIL_TOKEN: 'from-the-environment' };
    expect((await runBin(['token', 'gmail'], withEnv)).stdout).toBe('from-the-environment\n');
    const listed = JSON.parse((await runCli(['accounts'], withEnv)).stdout) as Record<string, unknown>[];
    expect(listed).toContainEqual(
      expect.objectContaining({ account: 'work', default: true, overridden_by: 'CONNECTR_GMAIL_TOKEN' }),
    );
    expect(listed).toContainEqual({
      connector: 'gmail',
      default: false,
      source: 'environment',
      overridden_by: 'CONNECTR_GMAIL_TOKEN',
    });
    const human = await runCli(['accounts'], withEnv, { tty: true });
    expect(human.stdout).toContain(
      'gmail: CONNECTR_GMAIL_TOKEN is set; requests use it instead of stored accounts.',
    );
  });

  it('signs in with a saved app when no client variables are set', async () => {
    const { GMAIL_CLIENT_ID: _id, GMAIL_CLIENT_SECRET: _secret, ...noClient } = env;
    const saved = await runBin(
      ['apps', 'set', 'gmail', '--client-id', 'saved-client', '--client-secret-stdin'],
      noClient,
      {
        input: 'saved-secret\n',
      },
    );
    expect(saved.code, saved.stderr).toBe(0);
    const r = await runBin(['auth', 'gmail'], noClient);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ client_id: 'saved-client' });
    expect(world.auth.tokenRequests.at(-1)).toMatchObject({
      client_id: 'saved-client',
      client_secret: 'saved-secret',
    });
    expect(readFileSync(join(world.home.dir, 'accounts.json'), 'utf8')).not.toContain('saved-secret');
  });

  it('a call that meets 401 refreshes the token once and retries', async () => {
    await signIn();
    const old = await stored();
    world.rejectToken(old.access_token ?? '');
    const before = world.auth.tokenRequests.length;
    const seen = world.gmail.requests.length;
    const r = await runBin(['call', 'gmail', 'list_labels'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('labels');
    expect(world.auth.tokenRequests.slice(before).map((t) => t.grant_type)).toEqual(['refresh_token']);
    const now = await stored();
    expect(world.gmail.requests.slice(seen).map((q) => q.headers.authorization)).toEqual([
      `Bearer ${old.access_token ?? ''}`,
      `Bearer ${now.access_token ?? ''}`,
    ]);
    // When the refreshed token is refused too, the command ends: one refresh, no loop.
    world.rejectToken('*');
    const again = await runBin(['call', 'gmail', 'list_labels'], env);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('hint: sign in again: connectr auth gmail');
    expect(world.auth.tokenRequests.slice(before).length).toBe(2);
  });
}
