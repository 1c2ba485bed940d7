import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcalEmulator } from '../fixtures/emulators/gcal.js';
import { startGdriveEmulator } from '../fixtures/emulators/gdrive.js';
import type { Emulator } from '../fixtures/emulators/server.js';
import { runBin } from '../helpers/bin.js';
import { SCRIPTED_BROWSER } from '../helpers/gmail-sign-in.js';
import { tempHome } from '../helpers/home.js';
import { startOidcServer } from '../helpers/oidc-server.js';
import type { OidcServer } from '../helpers/oidc-server.js';
import { FILE_STORE } from '../helpers/stores.js';

/**
 * `connectr auth <google connector>` end to end with the real binary: a strict authorization
 * server (oidc-provider: PKCE required, loopback redirect URI checked), the scripted browser, and
 * the connector's emulator answering the identity call that `connectr accounts` then shows.
 */
interface GoogleConnector {
  readonly name: string;
  readonly display: string;
  readonly prefix: string;
  readonly start: () => Promise<Emulator>;
}

const CONNECTORS: readonly GoogleConnector[] = [
  {
    name: 'gcal',
    display: 'Google Calendar',
    prefix: 'GCAL',
    start: () => startGcalEmulator({ email: 'carol@example.com' }),
  },
  // Drive's identity call, about.get, is refused without its required fields parameter.
  {
    name: 'gdrive',
    display: 'Google Drive',
    prefix: 'GDRIVE',
    start: () => startGdriveEmulator({ email: 'carol@example.com' }),
  },
];

describe.each(CONNECTORS)('connectr auth $name', (connector) => {
  let auth: OidcServer;
  let api: Emulator;
  const home = tempHome();
  beforeAll(async () => {
    auth = await startOidcServer();
    api = await connector.start();
  });
  afterAll(async () => {
    await auth.stop();
    await api.close();
    home.cleanup();
  });

  it('signs in through the browser and shows who signed in', async () => {
    const env = {
      ...home.env,
      ...FILE_STORE.env,
      ...auth.envFor(connector.name),
      [`CONNECTR_${connector.prefix}_API_BASE_URL`]: api.url,
      [`${connector.prefix}_CLIENT_ID`]: 'connectr-test-client',
      [`${connector.prefix}_CLIENT_SECRET`]: 'connectr-test-secret',
      CONNECTR_BROWSER: `${process.execPath} ${SCRIPTED_BROWSER}`,
      SCRIPTED_BROWSER: 'follow',
      SCRIPTED_BROWSER_LOG: join(home.dir, 'browser.log'),
    };
    const r = await runBin(['auth', connector.name], env);
    expect(r.stderr).toContain(`Opening your browser to sign in to ${connector.display}`);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      connector: connector.name,
      grant: 'authorization_code',
      identity: 'carol@example.com',
    });
    // Google's authorization request: offline access, consent, PKCE.
    const [authorize] = auth.authorizeRequests;
    expect(authorize).toMatchObject({
      access_type: 'offline',
      prompt: 'consent',
      code_challenge_method: 'S256',
    });
    expect(new URL(authorize?.redirect_uri ?? '').hostname).toBe('127.0.0.1');
    // The identity call went to the connector's API with the new token.
    expect(api.requests.at(-1)?.headers.authorization).toMatch(/^Bearer .{20,}/);
    expect(r.stderr).not.toContain('could not read who signed in');

    const accounts = await runBin(['accounts', 'list', '--json'], env);
    expect(accounts.code, accounts.stderr).toBe(0);
    expect(JSON.parse(accounts.stdout)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          connector: connector.name,
          account: 'default',
          identity: 'carol@example.com',
        }),
      ]),
    );
  });
});
