import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import { startAuthServer } from '../helpers/oauth-server.js';
import { KEYED_CONNECTOR } from '../helpers/keyed-connector.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import type { TestDaemon } from '../helpers/server.js';
import { withServer } from '../helpers/server.js';

/**
 * The Connect page's server side through app.inject, on both backends: the token's exchange for
 * a cookie, the pages' statuses and headers, the API-key form (CSRF), the OAuth round trip
 * through the daemon's own callback (oauth2-mock-server), and what a forged request cannot do.
 */

const OAUTH = `name: testapp
display_name: Test App
version: 1
docs_url: https://example.com/docs
description: An OAuth service.
hosts:
  api: https://api.example.com
auth:
  type: oauth2
  authorization_url: https://auth.example.com/authorize
  token_url: https://auth.example.com/token
  scopes: [files.read]
endpoints:
  me:
    summary: Who am I.
    method: GET
    path: /me
`;

const APP = 'https://app.example.com';

interface Page {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | number | undefined>;
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`the Connect page on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let auth: TestAuthServer;
    let key: string;
    let projectId: string;
    /** Every token made, to look for in the log at the end. */
    const tokens: string[] = [];

    beforeAll(async () => {
      auth = await startAuthServer();
      daemon = await withServer({
        backend: variant,
        connectors: { testapp: OAUTH, keyed: KEYED_CONNECTOR },
        env: { ...auth.envFor('testapp'), TESTAPP_CLIENT_ID: 'connect-client' },
        app: { publicUrl: 'https://connectr.example.com' },
      });
      projectId = await daemon.project();
      key = await daemon.key(projectId);
      const put = await daemon.app.inject({
        method: 'PUT',
        url: '/api/v1/connect/settings',
        headers: { authorization: `Bearer ${key}` },
        payload: { allowed_origins: [APP] },
      });
      expect(put.statusCode).toBe(200);
    });
    afterAll(async () => {
      await daemon.close();
      await auth.stop();
    });

    const session = async (body: Record<string, unknown>): Promise<string> => {
      const made = await daemon.app.inject({
        method: 'POST',
        url: '/api/v1/connect/sessions',
        headers: { authorization: `Bearer ${key}` },
        payload: body,
      });
      expect(made.statusCode, made.body).toBe(201);
      const { token } = made.json<{ token: string }>();
      tokens.push(token);
      return token;
    };

    const exchange = (token: string, site = 'same-origin') =>
      daemon.app.inject({
        method: 'POST',
        url: '/connect/session',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': site },
        payload: `token=${encodeURIComponent(token)}`,
      });

    const open = async (token: string): Promise<string> => {
      const answer = await exchange(token);
      expect(answer.statusCode, answer.body).toBe(303);
      return token;
    };

    const get = async (url: string, token?: string): Promise<Page> => {
      const answer = await daemon.app.inject({
        url,
        headers: token ? { cookie: `connectr_connect=${token}` } : {},
      });
      return { status: answer.statusCode, body: answer.body, headers: answer.headers };
    };

    const post = async (url: string, token: string, form: Record<string, string>): Promise<Page> => {
      const answer = await daemon.app.inject({
        method: 'POST',
        url,
        headers: { cookie: `connectr_connect=${token}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form).toString(),
      });
      return { status: answer.statusCode, body: answer.body, headers: answer.headers };
    };

    const csrfIn = (body: string): string => /name="csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';

    const events = (connectionId: string) =>
      daemon.store.database.query<{
        type: string;
        payload: { user_id: string; tags: Record<string, string> };
      }>('select type, payload from webhook_events where connection_id = $1 order by seq', [connectionId]);

    it('exchanges the token once for an HttpOnly, SameSite=Lax cookie scoped to /connect', async () => {
      const token = await session({ end_user: { id: 'u1' }, allowed_connectors: ['keyed'] });
      const answer = await exchange(token);
      expect(answer.statusCode).toBe(303);
      expect(answer.headers.location).toBe('/connect');
      const cookie = String(answer.headers['set-cookie']);
      expect(cookie).toContain(`connectr_connect=${token}`);
      expect(cookie).toContain('Path=/connect');
      expect(cookie).toContain('HttpOnly');
      expect(cookie).toContain('SameSite=Lax');
      expect(cookie).toContain('Secure');
      // The cookie never opens the API.
      const api = await daemon.app.inject({
        url: '/api/v1/connections',
        headers: { cookie: `connectr_connect=${token}` },
      });
      expect(api.statusCode).toBe(401);
    });

    it('refuses another site planting a session, and unknown or malformed tokens, with pages', async () => {
      const token = await session({ end_user: { id: 'u1' } });
      const cross = await exchange(token, 'cross-site');
      expect(cross.statusCode).toBe(403);
      expect(cross.headers['set-cookie']).toBeUndefined();
      for (const bad of [`cnct_${'A'.repeat(43)}`, 'cnct_short', '<script>', '']) {
        const answer = await exchange(bad);
        expect(answer.statusCode, bad).toBe(404);
        expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(answer.body).toContain('This link is not valid');
        expect(answer.body).not.toContain('<script>');
      }
    });

    it('serves pages with a strict CSP, framed only by the allowed origins', async () => {
      const opening = await get('/connect');
      expect(opening.status).toBe(200);
      // Before its token is known the page belongs to no project: anyone may frame it (it holds nothing).
      expect(String(opening.headers['content-security-policy'])).toContain('frame-ancestors *');
      expect(opening.body).toContain('id="connect-exchange"');
      const token = await open(await session({ end_user: { id: 'u1' } }));
      const chooser = await get('/connect', token);
      expect(chooser.status).toBe(200);
      const csp = String(chooser.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain(`frame-ancestors ${APP}`);
      expect(chooser.headers['x-frame-options']).toBeUndefined();
      expect(chooser.headers['cache-control']).toBe('no-store');
      expect(chooser.body).toContain('href="/connect/start/testapp"');
      expect(chooser.body).toContain('href="/connect/start/keyed"');
      // Without a cookie, or with one no session has: a page, 401 or 404.
      expect((await get('/connect/start/keyed')).status).toBe(401);
      expect((await get('/connect', `cnct_${'B'.repeat(43)}`)).status).toBe(404);
      // A connector the session does not offer, or no connector's name: 404 pages, nothing echoed.
      const limited = await open(await session({ end_user: { id: 'u1' }, allowed_connectors: ['keyed'] }));
      expect((await get('/connect/start/testapp', limited)).status).toBe(404);
      const hostile = await get('/connect/start/%3Cscript%3E', limited);
      expect(hostile.status).toBe(404);
      expect(hostile.body).not.toContain('<script>');
    });

    it('escapes the end user and tags everywhere they are shown', async () => {
      const token = await open(
        await session({
          end_user: { id: '<img src=x onerror=alert(1)>', display_name: '"><script>x</script>' },
        }),
      );
      const page = await get('/connect', token);
      expect(page.body).not.toContain('<script>x');
      expect(page.body).toContain('&quot;&gt;&lt;script&gt;x&lt;/script&gt;');
    });

    it('an API key: refused without the form token; saved with it, with user_id, tags and events; then used', async () => {
      const token = await open(
        await session({
          end_user: { id: 'user-9' },
          allowed_connectors: ['keyed'],
          return_url: `${APP}/done`,
          tags: { team: 'red' },
        }),
      );
      const form = await get('/connect', token);
      expect(form.body).toContain('<label for="connect-api-key">API key</label>');
      const forged = await post('/connect/start/keyed', token, { api_key: 'k-123' });
      expect(forged.status).toBe(403);
      const wrong = await post('/connect/start/keyed', token, { api_key: 'k-123', csrf: 'x'.repeat(43) });
      expect(wrong.status).toBe(403);
      const empty = await post('/connect/start/keyed', token, { api_key: '', csrf: csrfIn(form.body) });
      expect(empty.status).toBe(400);
      expect(empty.body).toContain('API key is required.');
      const listed = await daemon.app.inject({
        url: '/api/v1/connections?user_id=user-9',
        headers: { authorization: `Bearer ${key}` },
      });
      expect(listed.json<{ connections: unknown[] }>().connections).toEqual([]);
      const done = await post('/connect/start/keyed', token, { api_key: 'k-123', csrf: csrfIn(form.body) });
      expect(done.status).toBe(200);
      const id = /connection_id=(conn_[a-z0-9]+)/.exec(done.body)?.[1] ?? '';
      expect(done.body).toContain(`href="${APP}/done?connection_id=${id}&amp;status=connected"`);
      expect(done.body).toContain('connectr:connected');
      const shown = await daemon.app.inject({
        url: `/api/v1/connections/${id}`,
        headers: { authorization: `Bearer ${key}` },
      });
      expect(shown.json()).toMatchObject({ status: 'active', user_id: 'user-9', tags: { team: 'red' } });
      const written = await events(id);
      expect(written.map((e) => e.type)).toEqual(['connection.created', 'connection.signed_in']);
      expect(written[1]?.payload).toMatchObject({ user_id: 'user-9', tags: { team: 'red' } });
      const after = await get('/connect', token);
      expect(after.status).toBe(410);
      expect(after.body).toContain('This link has been used');
      const twice = await post('/connect/start/keyed', token, { api_key: 'k-456', csrf: csrfIn(form.body) });
      expect(twice.status).toBe(410);
      expect((await exchange(token)).statusCode).toBe(410);
    });

    it('OAuth: the daemon signs in (state, PKCE), its callback returns to the result step, the app hears of it', async () => {
      const token = await open(
        await session({
          end_user: { id: 'user-7' },
          allowed_connectors: ['testapp'],
          return_url: `${APP}/back?x=1`,
          tags: { plan: 'pro' },
        }),
      );
      // One OAuth connector: a page whose link (followed at once by the script) starts the sign-in.
      const only = await get('/connect', token);
      expect(only.body).toContain('id="connect-continue"');
      const start = await get('/connect/start/testapp', token);
      expect(start.status).toBe(302);
      const authorize = new URL(String(start.headers.location));
      expect(authorize.origin).toBe(auth.issuer);
      expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
      expect(authorize.searchParams.get('redirect_uri')).toBe(
        'https://connectr.example.com/api/v1/oauth/callback',
      );
      const provider = await fetch(authorize, { redirect: 'manual' });
      const callback = new URL(String(provider.headers.get('location')));
      const back = await daemon.app.inject({ url: `${callback.pathname}${callback.search}` });
      expect(back.statusCode).toBe(302);
      const done = new URL(String(back.headers.location));
      expect(done.pathname).toBe('/connect/done');
      const result = await get(`${done.pathname}${done.search}`, token);
      expect(result.status).toBe(200);
      const id = done.searchParams.get('connection_id') ?? '';
      expect(result.body).toContain(`href="${APP}/back?x=1&amp;connection_id=${id}&amp;status=connected"`);
      const shown = await daemon.app.inject({
        url: `/api/v1/connections/${id}`,
        headers: { authorization: `Bearer ${key}` },
      });
      expect(shown.json()).toMatchObject({ status: 'active', user_id: 'user-7', tags: { plan: 'pro' } });
      expect((await events(id)).map((e) => e.type)).toEqual(['connection.created', 'connection.signed_in']);
      expect((await get('/connect', token)).status).toBe(410);
    });

    it('a result step opened with a connection the session did not make reports nothing and uses nothing', async () => {
      const other = await daemon.connection(projectId, { connector: 'keyed' });
      const token = await open(await session({ end_user: { id: 'u' }, return_url: `${APP}/done` }));
      const forged = await get(`/connect/done?status=connected&connection_id=${other}`, token);
      expect(forged.status).toBe(200);
      expect(forged.body).not.toContain('connectr:connected');
      expect(forged.body).toContain('status=error&amp;error=provider_error');
      expect((await get('/connect', token)).status).toBe(200);
      // A provider's error code comes through as a stable code; its text does not.
      const refused = await get('/connect/done?status=error&error=access_denied', token);
      expect(refused.body).toContain('error=access_denied');
      const odd = await get('/connect/done?status=error&error=%3Cb%3Eno%3C/b%3E', token);
      expect(odd.body).toContain('error=provider_error');
      expect(odd.body).not.toContain('<b>no');
    });

    it('connection_id re-authorises that connection: its credential replaced, its user kept, no new one', async () => {
      const existing = await daemon.connection(projectId, { connector: 'keyed', secret: { api_key: 'old' } });
      await daemon.store.database.query(
        "update connections set status = 'needs_reauth', user_id = 'owner' where id = $1",
        [existing],
      );
      const token = await open(await session({ end_user: { id: 'someone-else' }, connection_id: existing }));
      const form = await get('/connect', token);
      expect(form.body).toContain('action="/connect/start/keyed"');
      // Its own connector only.
      expect((await get('/connect/start/testapp', token)).status).toBe(404);
      const done = await post('/connect/start/keyed', token, { api_key: 'new-key', csrf: csrfIn(form.body) });
      expect(done.status).toBe(200);
      expect(done.body).toContain(`connection_id&quot;:&quot;${existing}`);
      const shown = await daemon.app.inject({
        url: `/api/v1/connections/${existing}`,
        headers: { authorization: `Bearer ${key}` },
      });
      expect(shown.json()).toMatchObject({ status: 'active', user_id: 'owner' });
      expect((await events(existing)).map((e) => e.type)).toEqual([
        'connection.signed_in',
        'connection.restored',
      ]);
    });

    it('cancel tells the app cancelled and leaves the link usable', async () => {
      const token = await open(await session({ end_user: { id: 'u' }, return_url: `${APP}/done` }));
      const cancelled = await get('/connect/cancel', token);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toContain(`href="${APP}/done?status=error&amp;error=cancelled"`);
      expect((await get('/connect', token)).status).toBe(200);
    });

    it('no token reached the log', () => {
      expect(tokens.length).toBeGreaterThan(5);
      expect(daemon.logs.text.length).toBeGreaterThan(0);
      for (const token of tokens) expect(daemon.logs.text).not.toContain(token.slice(5));
    });
  });
}
