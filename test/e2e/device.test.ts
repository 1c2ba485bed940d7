import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { approveDevice, DEVICE_CLIENT_ID, startOidcServer } from '../helpers/oidc-server.js';
import type { OidcServer } from '../helpers/oidc-server.js';

/**
 * `connectr auth onedrive --device` against oidc-provider: the user code is shown, a person
 * approves it on another device, connectr polls until the tokens arrive.
 */
describe('connectr auth --device', () => {
  let oidc: OidcServer;
  const home = tempHome();
  beforeAll(async () => {
    oidc = await startOidcServer();
  });
  afterAll(async () => {
    await oidc.stop();
    home.cleanup();
  });

  it('shows the code, waits for approval, then stores the tokens', async () => {
    const env = {
      ...home.env,
      // No keychain needed here: the encrypted file store keeps the test independent of one.
      CONNECTR_STORE: 'file',
      CONNECTR_VAULT_PASSPHRASE: 'device test passphrase',
      ONEDRIVE_CLIENT_ID: DEVICE_CLIENT_ID,
      CONNECTR_ONEDRIVE_DEVICE_AUTHORIZATION_URL: `${oidc.issuer}/device/auth`,
      CONNECTR_ONEDRIVE_TOKEN_URL: `${oidc.issuer}/token`,
      // Graph is unreachable: the identity then comes from the id_token.
      CONNECTR_ONEDRIVE_GRAPH_BASE_URL: 'http://127.0.0.1:9',
    };
    const running = startBin(
      ['auth', 'onedrive', '--device', '--no-browser', '--scopes', 'openid,offline_access,files.read'],
      env,
      60_000,
    );
    const [, url, code] = await running.waitForStderr(
      /open (http:\/\/\S+) and enter the code (\S+) \(valid \d+ min\)/,
    );
    expect(code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    const page = await approveDevice(`${url ?? ''}?user_code=${code ?? ''}`, 'ann@example.com');
    expect(page).toContain('Sign-in Success');
    const r = await running.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'note: could not read who signed in (cannot reach 127.0.0.1:9: connection refused)',
    );
    expect(JSON.parse(r.stdout)).toMatchObject({
      connector: 'onedrive',
      grant: 'device_code',
      identity: 'ann@example.com',
      scopes: ['openid', 'offline_access', 'files.read'],
      store: 'encrypted-file',
    });
    const token = await runBin(['token', 'onedrive'], env);
    expect(token.code, token.stderr).toBe(0);
    expect(token.stdout.trim().length).toBeGreaterThan(20);
  }, 60_000);

  it('says so when the connector offers no device sign-in', async () => {
    const r = await runBin(['auth', 'gmail', '--device'], {
      ...home.env,
      GMAIL_CLIENT_ID: 'x',
      GMAIL_CLIENT_SECRET: 'y',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: Gmail does not offer device sign-in');
  });
});
