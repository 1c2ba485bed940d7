import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGithubEmulator } from '../fixtures/emulators/github.js';
import type { GithubEmulator } from '../fixtures/emulators/github.js';
import { runBin, startBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { approveDevice, DEVICE_CLIENT_ID, startOidcServer } from '../helpers/oidc-server.js';
import type { OidcServer } from '../helpers/oidc-server.js';

/**
 * `connectr auth github --device` (GitHub's device flow, RFC 8628) against oidc-provider, with
 * the GitHub REST emulator answering `GET /user`: the account is named by its login.
 */
describe('connectr auth github --device', () => {
  let oidc: OidcServer;
  let api: GithubEmulator;
  const home = tempHome();
  beforeAll(async () => {
    oidc = await startOidcServer();
    api = await startGithubEmulator({ acceptToken: (t) => t.length > 20, login: 'octo-ann' });
  });
  afterAll(async () => {
    await oidc.stop();
    await api.close();
    home.cleanup();
  });

  it('shows the code, waits for approval, names the account by its GitHub login', async () => {
    const env = {
      ...home.env,
      CONNECTR_STORE: 'file',
      CONNECTR_VAULT_PASSPHRASE: 'github device passphrase',
      GITHUB_CLIENT_ID: DEVICE_CLIENT_ID,
      CONNECTR_GITHUB_DEVICE_AUTHORIZATION_URL: `${oidc.issuer}/device/auth`,
      CONNECTR_GITHUB_TOKEN_URL: `${oidc.issuer}/token`,
      CONNECTR_GITHUB_API_BASE_URL: api.url,
    };
    const running = startBin(['auth', 'github', '--device', '--no-browser'], env, 60_000);
    const [, url, code] = await running.waitForStderr(
      /open (http:\/\/\S+) and enter the code (\S+) \(valid \d+ min\)/,
    );
    const page = await approveDevice(`${url ?? ''}?user_code=${code ?? ''}`, 'ann@example.com');
    expect(page).toContain('Sign-in Success');
    const r = await running.done;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      connector: 'github',
      grant: 'device_code',
      identity: 'octo-ann',
    });
    // The device request carried the client id and GitHub's default scopes, space-separated.
    const device = oidc.tokenRequests.find(
      (t) => t.grant_type === 'urn:ietf:params:oauth:grant-type:device_code',
    );
    expect(device?.client_id).toBe(DEVICE_CLIENT_ID);
    // Identity was asked of GET /user with the new token, as GitHub wants it.
    const identity = api.requests.find((q) => q.url.pathname === '/user');
    expect(identity?.headers.authorization).toMatch(/^Bearer \S{20,}$/);

    const accounts = await runBin(['accounts', 'list', '--json'], env);
    expect(accounts.code, accounts.stderr).toBe(0);
    expect(JSON.parse(accounts.stdout)).toMatchObject([
      {
        connector: 'github',
        account: 'default',
        identity: 'octo-ann',
        grant: 'device_code',
        scopes: ['repo', 'read:user'],
      },
    ]);
    const call = await runBin(['call', 'github', 'get_repo', '--owner', 'octo-ann', '--repo', 'hello'], env);
    expect(call.code, call.stderr).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({ full_name: 'octo-ann/hello' });
  }, 60_000);
});
