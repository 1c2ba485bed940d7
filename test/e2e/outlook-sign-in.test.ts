import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraphMailEmulator } from '../fixtures/emulators/graph-mail.js';
import type { GraphMailEmulator } from '../fixtures/emulators/graph-mail.js';
import { runBin, startBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { approveDevice, DEVICE_CLIENT_ID, startOidcServer } from '../helpers/oidc-server.js';
import type { OidcServer } from '../helpers/oidc-server.js';

/**
 * `connectr auth outlook --device` against oidc-provider, with the Graph mail emulator answering
 * `GET /me`: the account is named by its userPrincipalName.
 */
describe('connectr auth outlook --device', () => {
  let oidc: OidcServer;
  let graph: GraphMailEmulator;
  const home = tempHome();
  beforeAll(async () => {
    oidc = await startOidcServer();
    graph = await startGraphMailEmulator({ acceptToken: (t) => t.length > 20 });
  });
  afterAll(async () => {
    await oidc.stop();
    await graph.close();
    home.cleanup();
  });

  it('signs in with a device code and names the account by its user principal name', async () => {
    const env = {
      ...home.env,
      CONNECTR_STORE: 'file',
      CONNECTR_VAULT_PASSPHRASE: 'outlook device passphrase',
      OUTLOOK_CLIENT_ID: DEVICE_CLIENT_ID,
      CONNECTR_OUTLOOK_DEVICE_AUTHORIZATION_URL: `${oidc.issuer}/device/auth`,
      CONNECTR_OUTLOOK_TOKEN_URL: `${oidc.issuer}/token`,
      CONNECTR_OUTLOOK_GRAPH_BASE_URL: graph.baseUrl,
    };
    const running = startBin(['auth', 'outlook', '--device', '--no-browser'], env, 60_000);
    const [, url, code] = await running.waitForStderr(
      /open (http:\/\/\S+) and enter the code (\S+) \(valid \d+ min\)/,
    );
    expect(await approveDevice(`${url ?? ''}?user_code=${code ?? ''}`, 'ann@example.com')).toContain(
      'Sign-in Success',
    );
    const r = await running.done;
    expect(r.code, r.stderr).toBe(0);
    const accounts = await runBin(['accounts', 'list', '--json'], env);
    expect(accounts.code, accounts.stderr).toBe(0);
    expect(JSON.parse(accounts.stdout)).toMatchObject([
      { connector: 'outlook', account: 'default', identity: 'ann@example.com', grant: 'device_code' },
    ]);
    const call = await runBin(['call', 'outlook', 'get_mail_folder', '--folder-id', 'inbox'], env);
    expect(call.code, call.stderr).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({ displayName: 'Inbox' });
  }, 60_000);
});
