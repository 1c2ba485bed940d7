import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator } from '../fixtures/emulators/slack.js';
import type { SlackEmulator } from '../fixtures/emulators/slack.js';
import { runBin } from '../helpers/bin.js';
import { SCRIPTED_BROWSER } from '../helpers/gmail-sign-in.js';
import { tempHome } from '../helpers/home.js';
import { FILE_STORE } from '../helpers/stores.js';
import { freePort } from '../helpers/net.js';

/**
 * `connectr auth slack` end to end with the real binary: the scripted browser through the Slack
 * emulator's /oauth/v2/authorize (the app's one registered Redirect URL, matched exactly) and
 * oauth.v2.access (client secret in HTTP Basic, no PKCE, bot scopes comma-separated, token
 * rotation on), the identity from auth.test shown by `connectr accounts`, and logout through
 * auth.revoke.
 */

describe('connectr auth slack', () => {
  let slack: SlackEmulator;
  let port: number;
  const home = tempHome();
  beforeAll(async () => {
    // A port nothing listens on now: the app's registered redirect URL names it.
    port = await freePort();
    slack = await startSlackEmulator({
      rotation: true,
      clientId: '2141029472.691202649728',
      clientSecret: 'slack-test-secret',
      redirectUrls: [`http://localhost:${String(port)}/callback`],
    });
  });
  afterAll(async () => {
    await slack.close();
    home.cleanup();
  });

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...home.env,
    ...FILE_STORE.env,
    CONNECTR_SLACK_AUTHORIZATION_URL: `${slack.url}/oauth/v2/authorize`,
    CONNECTR_SLACK_TOKEN_URL: `${slack.url}/api/oauth.v2.access`,
    CONNECTR_SLACK_REVOCATION_URL: `${slack.url}/api/auth.revoke`,
    CONNECTR_SLACK_API_BASE_URL: `${slack.url}/api`,
    SLACK_CLIENT_ID: slack.clientId,
    SLACK_CLIENT_SECRET: slack.clientSecret,
    CONNECTR_BROWSER: `${process.execPath} ${SCRIPTED_BROWSER}`,
    SCRIPTED_BROWSER: 'follow',
    SCRIPTED_BROWSER_LOG: join(home.dir, 'browser.log'),
    ...extra,
  });

  it('names an oauth.v2.access refusal (HTTP 200, "ok": false) by its error code', async () => {
    const r = await runBin(['auth', 'slack', '--port', String(port)], env({ SLACK_CLIENT_SECRET: 'wrong' }));
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('refused the token request: bad_client_secret');
    expect(slack.tokenRequests).toHaveLength(1);
  });

  it('signs in through the browser with bot scopes, shows the workspace, calls and logs out', async () => {
    slack.authorizeRequests.length = 0;
    slack.tokenRequests.length = 0;
    const r = await runBin(['auth', 'slack', '--port', String(port)], env());
    expect(r.stderr).toContain('Opening your browser to sign in to Slack');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      connector: 'slack',
      grant: 'authorization_code',
      identity: 'https://connectr-test.slack.com/',
    });

    // The authorization request: bot scopes in `scope`, comma-separated; no PKCE challenge.
    const [authorize] = slack.authorizeRequests;
    expect(authorize).toMatchObject({
      response_type: 'code',
      client_id: slack.clientId,
      scope: 'channels:read,groups:read,channels:history,groups:history,chat:write,files:write',
      redirect_uri: `http://localhost:${String(port)}/callback`,
    });
    expect(authorize?.code_challenge).toBeUndefined();
    // The exchange: the same redirect_uri, the client in HTTP Basic (not in the form), no verifier.
    const [exchange] = slack.tokenRequests;
    expect(exchange).toMatchObject({
      grant_type: 'authorization_code',
      redirect_uri: `http://localhost:${String(port)}/callback`,
    });
    expect(exchange?.client_secret).toBeUndefined();
    expect(exchange?.code_verifier).toBeUndefined();

    const accounts = await runBin(['accounts', 'list', '--json'], env());
    expect(accounts.code, accounts.stderr).toBe(0);
    const [account] = JSON.parse(accounts.stdout) as Record<string, unknown>[];
    expect(account).toMatchObject({
      connector: 'slack',
      account: 'default',
      identity: 'https://connectr-test.slack.com/',
      grant: 'authorization_code',
      // Slack answers the granted scopes comma-separated.
      scopes: [
        'channels:read',
        'groups:read',
        'channels:history',
        'groups:history',
        'chat:write',
        'files:write',
      ],
    });
    // Token rotation: the bot token lasts 12 hours.
    const expires = Date.parse(String(account?.expires_at));
    expect(expires - Date.now()).toBeGreaterThan(11 * 3600 * 1000);
    expect(expires - Date.now()).toBeLessThanOrEqual(12 * 3600 * 1000);

    const call = await runBin(['call', 'slack', 'list_conversations', '--page-size', '2'], env());
    expect(call.code, call.stderr).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({
      ok: true,
      channels: [{ name: 'general' }, { name: 'random' }],
    });
    const token = /^Bearer (xoxe\.xoxb-\S+)$/.exec(slack.requests.at(-1)?.headers.authorization ?? '')?.[1];
    expect(token).toBeDefined();

    const logout = await runBin(['logout', 'slack'], env());
    expect(logout.code, logout.stderr).toBe(0);
    expect(slack.revoked.has(token ?? '')).toBe(true);
    const revoke = slack.requests.find((q) => q.url.pathname === '/api/auth.revoke');
    expect(revoke?.headers.authorization).toBe(`Bearer ${token ?? ''}`);
    const after = await runBin(['accounts', 'list', '--json'], env());
    expect(JSON.parse(after.stdout)).toEqual([]);
  }, 60_000);
});
