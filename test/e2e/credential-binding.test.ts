import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { useGmailSignIn } from '../helpers/gmail-sign-in.js';
import { sendJson, startEmulator } from '../fixtures/emulators/server.js';
import type { Emulator } from '../fixtures/emulators/server.js';

/**
 * A stored credential goes only where it was issued for. A user connector named `gmail` whose
 * hosts and token URL point at another server (a second local server here) gets nothing: no
 * Authorization header, no refresh token, no token request.
 */
describe('credentials bound to the definition they were issued for', () => {
  const world = useGmailSignIn();
  let other: Emulator;
  beforeAll(async () => {
    other = await startEmulator((req, res) => {
      sendJson(res, 200, { emailAddress: 'attacker@example.com', access_token: 'x', token_type: 'Bearer' });
    });
  });
  afterAll(async () => {
    await other.close();
  });

  /** Signs in with the real definition, with a token that is due for refresh. */
  async function signIn(env: Record<string, string>): Promise<void> {
    world.auth.server.service.once(
      'beforeResponse',
      (response: { body: Record<string, unknown> | string }) => {
        if (typeof response.body === 'object') response.body.expires_in = 30;
      },
    );
    const r = await runBin(['auth', 'gmail', '--insecure-storage'], env);
    expect(r.code, r.stderr).toBe(0);
  }

  function overrideGmail(hosts: string, tokenUrl: string): void {
    const dir = join(world.home.dir, 'connectors');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'gmail.yaml'),
      'name: gmail\ndisplay_name: Gmail\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Not Gmail.\n' +
        `hosts:\n  api: ${hosts}\n` +
        `auth:\n  type: oauth2\n  grants: [authorization_code]\n  authorization_url: ${tokenUrl}/authorize\n  token_url: ${tokenUrl}/token\n  revocation_url: ${tokenUrl}/revoke\n` +
        '  client_id_env: GMAIL_CLIENT_ID\n  client_secret_env: GMAIL_CLIENT_SECRET\n' +
        'endpoints:\n  get_profile:\n    summary: Profile.\n    method: GET\n    path: /gmail/v1/users/me/profile\n',
    );
  }

  /** The environment without the test overrides, so the user connector's own URLs are in effect. */
  function plainEnv(): Record<string, string> {
    const env = world.env();
    for (const key of Object.keys(env)) if (/^CONNECTR_GMAIL_.*_URL$/.test(key)) delete env[key];
    return env;
  }

  it('a user connector named gmail with other hosts gets no token, no refresh, exit 3', async () => {
    await signIn(world.env());
    const before = world.auth.tokenRequests.length;
    const gmailBefore = world.gmail.requests.length;
    overrideGmail(other.url, other.url);
    const env = plainEnv();
    for (const args of [
      ['call', 'gmail', 'get_profile'],
      ['token', 'gmail'],
    ]) {
      const r = await runBin(args, env);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain('error: the gmail definition in effect');
      expect(r.stderr).toContain(
        'sends credentials elsewhere than gmail account "default" was signed in for',
      );
      expect(r.stderr).toContain(`hosts now: ${other.url}`);
      expect(r.stderr).toContain(
        'hint: if you trust this definition, sign in again with it: connectr auth gmail',
      );
    }
    expect(other.requests).toEqual([]);
    expect(world.auth.tokenRequests.length).toBe(before);
    expect(world.gmail.requests.length).toBe(gmailBefore);
    // Logout deletes the local copy but revokes nothing through the other definition.
    const logout = await runBin(['logout', 'gmail'], env);
    expect(logout.stderr).toContain('sends credentials elsewhere');
    expect(other.requests).toEqual([]);
    expect(world.auth.revocations).toHaveLength(0);
    expect((await runBin(['accounts', 'list', '--json'], env)).stdout).not.toContain('"gmail"');
  });

  it('the real definition with the sign-in overrides still works', async () => {
    await signIn(world.env());
    const r = await runBin(['call', 'gmail', 'get_profile'], world.env());
    expect(r.code, r.stderr).toBe(0);
  });

  it('an account stored before bindings existed gets one on first use (trust on first use)', async () => {
    await signIn(world.env());
    const file = join(world.home.dir, 'accounts.json');
    const data = JSON.parse(readFileSync(file, 'utf8')) as { accounts: Record<string, unknown>[] };
    const recorded = data.accounts[0]?.binding;
    expect(recorded).toEqual({
      hosts: [world.gmail.url],
      token_url: `${world.auth.issuer}/token`,
      revocation_url: `${world.auth.issuer}/revoke`,
    });
    delete data.accounts[0]?.binding;
    writeFileSync(file, JSON.stringify(data));
    const r = await runBin(['token', 'gmail'], world.env());
    expect(r.code, r.stderr).toBe(0);
    const after = JSON.parse(readFileSync(file, 'utf8')) as { accounts: Record<string, unknown>[] };
    expect(after.accounts[0]?.binding).toEqual(recorded);
    // Once recorded, a different override is a different definition.
    const moved = await runBin(['token', 'gmail'], {
      ...world.env(),
      CONNECTR_GMAIL_API_BASE_URL: other.url,
    });
    expect(moved.code, moved.stderr).toBe(3);
    expect(other.requests).toEqual([]);
  });

  it('plain http:// is refused off loopback: in a definition and in an override', async () => {
    overrideGmail('http://api.example.com', 'http://auth.example.com');
    const validate = await runBin(
      ['connectors', 'validate', join(world.home.dir, 'connectors', 'gmail.yaml')],
      world.env(),
    );
    expect(validate.code).toBe(1);
    expect(validate.stdout + validate.stderr).toContain(
      'plain http:// to api.example.com would send credentials unencrypted',
    );
    expect(validate.stdout + validate.stderr).toContain('plain http:// to auth.example.com');

    const env = {
      ...world.env(),
      CONNECTR_GMAIL_API_BASE_URL: 'http://gmail.example.com',
      CONNECTR_GMAIL_TOKEN: 't',
    };
    const r = await runBin(['token', 'gmail'], env);
    expect(r.stderr).toContain('CONNECTR_GMAIL_API_BASE_URL: plain http:// to gmail.example.com');
    expect(r.code).toBe(1);
  });

  it('an API-key connector that is not signed in names its own variable', async () => {
    const dir = join(world.home.dir, 'connectors');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'keyed.yaml'),
      'name: keyed\ndisplay_name: Keyed\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\n' +
        'hosts:\n  api: https://api.example.com\nauth:\n  type: api_key\n  in: header\n  name: X-Api-Key\n' +
        'endpoints:\n  me:\n    summary: Who am I.\n    method: GET\n    path: /me\n',
    );
    const r = await runBin(['token', 'keyed'], world.env());
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('hint: run `connectr auth keyed` (or set KEYED_API_KEY for automation)');
  });
});
