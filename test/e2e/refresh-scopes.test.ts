import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';

/** Scopes a provider returns on refresh are split by the connector's scope_separator, as at sign-in. */
describe('refresh and scope_separator', () => {
  let auth: TestAuthServer;
  const home = tempHome();
  beforeAll(async () => {
    auth = await startAuthServer();
  });
  afterAll(async () => {
    await auth.stop();
    home.cleanup();
  });

  it('keeps the scopes of a comma-separated provider apart after a refresh', async () => {
    const dir = join(home.dir, 'connectors');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'commas.yaml'),
      'name: commas\ndisplay_name: Commas\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\n' +
        'hosts:\n  api: https://api.example.com\n' +
        'auth:\n  type: oauth2\n  grants: [client_credentials]\n  token_url: https://auth.example.com/token\n' +
        '  scopes: [read, write]\n  scope_separator: ","\n' +
        'endpoints:\n  me:\n    summary: Who am I.\n    method: GET\n    path: /me\n',
    );
    const env = {
      ...home.env,
      CONNECTR_STORE: 'file',
      CONNECTR_VAULT_PASSPHRASE: 'scope test passphrase',
      CONNECTR_COMMAS_TOKEN_URL: `${auth.issuer}/token`,
      COMMAS_CLIENT_ID: 'commas-client',
      COMMAS_CLIENT_SECRET: 'commas-secret',
    };
    const answer = (response: { body: Record<string, unknown> | string }): void => {
      if (typeof response.body === 'object') {
        response.body.expires_in = 1;
        response.body.scope = 'read,write';
      }
    };
    auth.server.service.once('beforeResponse', answer);
    const signIn = await runBin(['auth', 'commas'], env);
    expect(signIn.code, signIn.stderr).toBe(0);
    auth.server.service.once('beforeResponse', answer);
    const token = await runBin(['token', 'commas'], env);
    expect(token.code, token.stderr).toBe(0);
    expect(auth.tokenRequests.at(-1)).toMatchObject({
      grant_type: 'client_credentials',
      scope: 'read,write',
    });
    const metadata = JSON.parse(readFileSync(join(home.dir, 'accounts.json'), 'utf8')) as {
      accounts: { scopes: string[]; last_refreshed_at: string; created_at: string }[];
    };
    expect(metadata.accounts[0]?.scopes).toEqual(['read', 'write']);
  });
});
