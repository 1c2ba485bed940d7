import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintConsoleLink } from '../../src/server/services/console.js';
import { updateConnection } from '../../src/server/store/connections.js';
import { revokeApiKey } from '../../src/server/store/api-keys.js';
import { KEYED_CONNECTOR } from '../helpers/keyed-connector.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';
import type { App } from '../../src/server/types.js';

/**
 * The admin console through app.inject on both backends: sign-in with a good and a bad key,
 * the cookie's attributes, CSRF refused without and with a wrong token (nothing changed),
 * expiry on the server's clock, a revoked signing key ending the session, the one-time link,
 * hostile values rendered as text, and the connections' filters.
 */

const HOSTILE = '<script>alert(1)</script>';
const HOSTILE_CONNECTOR = KEYED_CONNECTOR.replace('name: keyed', 'name: hostile').replace(
  'display_name: Keyed',
  `display_name: "${HOSTILE}"`,
);

interface Browser {
  cookies: Map<string, string>;
  csrf: string;
}

const cookieHeader = (b: Browser): string => [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

function keep(b: Browser, answer: LightMyRequestResponse): void {
  for (const c of answer.cookies) {
    if (c.value === '' || c.maxAge === 0) b.cookies.delete(c.name);
    else b.cookies.set(c.name, c.value);
  }
}

/**
 * The page's markup with the template's layout whitespace taken out (around tags, and runs of
 * it), so assertions say what a reader sees, not how the source is indented.
 */
function flatten(answer: LightMyRequestResponse): LightMyRequestResponse {
  Object.defineProperty(answer, 'body', {
    value: answer.body.replace(/\s+/g, ' ').replace(/\s*([<>])\s*/g, '$1'),
  });
  return answer;
}

const csrfIn = (body: string): string => /name="csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';

async function get(app: App, b: Browser, url: string): Promise<LightMyRequestResponse> {
  const answer = flatten(await app.inject({ url, headers: { cookie: cookieHeader(b) } }));
  keep(b, answer);
  const csrf = csrfIn(answer.body);
  if (csrf) b.csrf = csrf;
  return answer;
}

async function post(
  app: App,
  b: Browser,
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const answer = flatten(
    await app.inject({
      method: 'POST',
      url,
      headers: { cookie: cookieHeader(b), 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(fields).toString(),
    }),
  );
  keep(b, answer);
  const csrf = csrfIn(answer.body);
  if (csrf) b.csrf = csrf;
  return answer;
}

async function signIn(app: App, key: string): Promise<Browser> {
  const b: Browser = { cookies: new Map(), csrf: '' };
  await get(app, b, '/console');
  const answer = await post(app, b, '/console/sign-in', { api_key: key, csrf: b.csrf });
  expect(answer.statusCode, answer.body).toBe(303);
  await get(app, b, '/console/connections');
  return b;
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`the admin console on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let projectId: string;
    let key: { id: string; secret: string };
    let clock = Date.parse('2030-01-01T00:00:00Z');
    beforeAll(async () => {
      daemon = await withServer({
        backend: variant,
        connectors: { keyed: KEYED_CONNECTOR, hostile: HOSTILE_CONNECTOR },
        now: () => clock,
        app: { trustProxy: true, publicUrl: 'http://127.0.0.1:9', webhooks: false },
      });
      projectId = await daemon.project();
      key = await daemon.createKey(projectId, { name: 'admin' });
    }, 60_000);
    afterAll(() => daemon.close());

    it('shows the sign-in form when not signed in, and sends every page there', async () => {
      const b: Browser = { cookies: new Map(), csrf: '' };
      const form = await get(daemon.app, b, '/console');
      expect(form.statusCode).toBe(200);
      expect(form.body).toContain('<label for="api_key">API key</label>');
      expect(form.body).toContain('>Sign in</button>');
      expect(form.headers['content-security-policy']).toContain("script-src 'self'");
      for (const url of ['/console/connections', '/console/keys', '/console/metrics', '/console/webhooks']) {
        const answer = await daemon.app.inject({ url });
        expect(answer.statusCode, url).toBe(303);
        expect(answer.headers.location).toBe('/console');
      }
    });

    it('refuses a wrong key, a metrics key and a missing sign-in token; no session cookie', async () => {
      const metrics = await daemon.key(projectId, { scope: 'metrics' });
      for (const wrong of ['cnr_aaaaaaaa_' + 'A'.repeat(43), metrics, 'x'.repeat(5000)]) {
        const b: Browser = { cookies: new Map(), csrf: '' };
        await get(daemon.app, b, '/console');
        const answer = await post(daemon.app, b, '/console/sign-in', { api_key: wrong, csrf: b.csrf });
        expect(answer.statusCode).toBe(401);
        expect(answer.body).toContain('not valid');
        expect(b.cookies.has('connectr_console')).toBe(false);
      }
      const b: Browser = { cookies: new Map(), csrf: '' };
      await get(daemon.app, b, '/console');
      const forged = await post(daemon.app, b, '/console/sign-in', { api_key: key.secret, csrf: 'forged' });
      expect(forged.statusCode).toBe(403);
      expect(b.cookies.has('connectr_console')).toBe(false);
    });

    it('signs in with a project key: an HttpOnly, SameSite=Strict cookie on /console for 12 h, Secure over HTTPS', async () => {
      const b: Browser = { cookies: new Map(), csrf: '' };
      await get(daemon.app, b, '/console');
      const answer = await post(daemon.app, b, '/console/sign-in', { api_key: key.secret, csrf: b.csrf });
      expect(answer.statusCode).toBe(303);
      expect(answer.headers.location).toBe('/console/connections');
      const cookie = answer.cookies.find((c) => c.name === 'connectr_console');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console', maxAge: 43_200 });
      expect(cookie?.secure).toBeFalsy();
      expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // Stored hashed: the token itself is nowhere in the table.
      const rows = await daemon.store.database.query('select token_hash from console_sessions');
      expect(JSON.stringify(rows)).not.toContain(cookie?.value ?? '');

      const https = await post(
        daemon.app,
        b,
        '/console/sign-in',
        { api_key: key.secret, csrf: b.csrf },
        { 'x-forwarded-proto': 'https' },
      );
      expect(https.cookies.find((c) => c.name === 'connectr_console')?.secure).toBe(true);
      // A second instance (PostgreSQL only: PGlite has one process) without a trusted proxy:
      // the header is not believed there; and the session, in the database, is known there.
      if (variant.name !== 'postgres') return;
      const plain = await daemon.another();
      const c: Browser = { cookies: new Map(), csrf: '' };
      await get(plain.app, c, '/console');
      const untrusted = await post(
        plain.app,
        c,
        '/console/sign-in',
        { api_key: key.secret, csrf: c.csrf },
        { 'x-forwarded-proto': 'https' },
      );
      expect(untrusted.cookies.find((x) => x.name === 'connectr_console')?.secure).toBeFalsy();
      // The session is in the database: the other instance knows it.
      const elsewhere = await get(plain.app, b, '/console/keys');
      expect(elsewhere.statusCode).toBe(200);
    });

    it('never lets the console cookie authorise /api/v1', async () => {
      const b = await signIn(daemon.app, key.secret);
      const api = await daemon.app.inject({
        url: '/api/v1/connections',
        headers: { cookie: cookieHeader(b) },
      });
      expect(api.statusCode).toBe(401);
    });

    it('refuses a POST without the CSRF token or with a wrong one (403), and changes nothing', async () => {
      const b = await signIn(daemon.app, key.secret);
      const before = (await get(daemon.app, b, '/console/keys')).body;
      expect(before).not.toContain('csrf-probe');
      for (const fields of [
        { name: 'csrf-probe' },
        { name: 'csrf-probe', csrf: 'A'.repeat(43) },
        { name: 'csrf-probe', csrf: '' },
      ]) {
        const answer = await post(daemon.app, b, '/console/keys', fields);
        expect(answer.statusCode).toBe(403);
        expect(answer.body).toContain('Nothing was changed');
      }
      // Another session's token is wrong too.
      const other = await signIn(daemon.app, key.secret);
      expect(
        (await post(daemon.app, b, '/console/keys', { name: 'csrf-probe', csrf: other.csrf })).statusCode,
      ).toBe(403);
      expect((await get(daemon.app, b, '/console/keys')).body).not.toContain('csrf-probe');
      const revoke = await post(daemon.app, b, `/console/keys/${key.id}/revoke`, {});
      expect(revoke.statusCode).toBe(403);
      expect(
        (
          await daemon.app.inject({
            url: '/api/v1/connections',
            headers: { authorization: `Bearer ${key.secret}` },
          })
        ).statusCode,
      ).toBe(200);
    });

    it('creates a key shown once, and revokes it: 401 at once', async () => {
      const b = await signIn(daemon.app, key.secret);
      const created = await post(daemon.app, b, '/console/keys', { name: 'ci job', csrf: b.csrf });
      expect(created.statusCode).toBe(201);
      const secret = /cnr_[a-z2-7]{8}_[A-Za-z0-9_-]{43}/.exec(created.body)?.[0] ?? '';
      expect(secret).not.toBe('');
      const api = (k: string) =>
        daemon.app.inject({ url: '/api/v1/connections', headers: { authorization: `Bearer ${k}` } });
      expect((await api(secret)).statusCode).toBe(200);
      const list = await get(daemon.app, b, '/console/keys');
      expect(list.body).toContain('ci job');
      expect(list.body).not.toContain(secret);
      const id =
        new RegExp(`/console/keys/(key_[^/"]+)/revoke" class="revoke" data-key-name="ci job"`).exec(
          list.body,
        )?.[1] ?? '';
      expect(id).not.toBe('');
      const confirm = await get(daemon.app, b, `/console/keys/${id}/revoke`);
      expect(confirm.statusCode).toBe(200);
      expect(confirm.body).toContain('>Revoke</button>');
      const revoked = await post(daemon.app, b, `/console/keys/${id}/revoke`, { csrf: b.csrf });
      expect(revoked.statusCode).toBe(200);
      expect((await api(secret)).statusCode).toBe(401);
    });

    it("cannot revoke another project's key", async () => {
      const other = await daemon.createKey(await daemon.project('other'), { name: 'theirs' });
      const b = await signIn(daemon.app, key.secret);
      const answer = await post(daemon.app, b, `/console/keys/${other.id}/revoke`, { csrf: b.csrf });
      expect(answer.statusCode).toBe(404);
      expect(
        (
          await daemon.app.inject({
            url: '/api/v1/connections',
            headers: { authorization: `Bearer ${other.secret}` },
          })
        ).statusCode,
      ).toBe(200);
    });

    it('ends the session when the key that signed in is revoked, and after 12 hours', async () => {
      const signer = await daemon.createKey(projectId, { name: 'signer' });
      const b = await signIn(daemon.app, signer.secret);
      expect((await get(daemon.app, b, '/console/keys')).statusCode).toBe(200);
      await revokeApiKey(daemon.store.db, signer.id);
      const after = await get(daemon.app, b, '/console/keys');
      expect(after.statusCode).toBe(303);
      expect(after.headers.location).toBe('/console');

      const c = await signIn(daemon.app, key.secret);
      clock += 12 * 60 * 60 * 1000 - 1000;
      expect((await get(daemon.app, c, '/console/keys')).statusCode).toBe(200);
      clock += 2000;
      expect((await get(daemon.app, c, '/console/keys')).statusCode).toBe(303);
    });

    it('signs out', async () => {
      const b = await signIn(daemon.app, key.secret);
      const token = b.cookies.get('connectr_console') ?? '';
      const out = await post(daemon.app, b, '/console/sign-out', { csrf: b.csrf });
      expect(out.statusCode).toBe(303);
      expect(b.cookies.has('connectr_console')).toBe(false);
      const stale: Browser = { cookies: new Map([['connectr_console', token]]), csrf: '' };
      expect((await get(daemon.app, stale, '/console/keys')).statusCode).toBe(303);
    });

    it('exchanges a one-time link once, within its minute, for the same cookie', async () => {
      const token = await mintConsoleLink(daemon.store.db, undefined, new Date(clock));
      const b: Browser = { cookies: new Map(), csrf: '' };
      const first = await get(daemon.app, b, `/console/link?token=${token}`);
      expect(first.statusCode).toBe(303);
      expect(first.headers.location).toBe('/console/connections');
      expect(first.cookies.find((c) => c.name === 'connectr_console')).toMatchObject({
        httpOnly: true,
        sameSite: 'Strict',
      });
      expect((await get(daemon.app, b, '/console/keys')).statusCode).toBe(200);
      // The link's token never reaches the log (its access line redacts it).
      expect(daemon.logs.text).toContain('/console/link?token=[REDACTED]');
      expect(daemon.logs.text).not.toContain(token);
      const again = await get(daemon.app, { cookies: new Map(), csrf: '' }, `/console/link?token=${token}`);
      expect(again.statusCode).toBe(400);
      expect(again.body).toContain('cannot be used');
      const late = await mintConsoleLink(daemon.store.db, undefined, new Date(clock));
      clock += 61_000;
      expect(
        (await get(daemon.app, { cookies: new Map(), csrf: '' }, `/console/link?token=${late}`)).statusCode,
      ).toBe(400);
      expect(
        (await get(daemon.app, { cookies: new Map(), csrf: '' }, '/console/link?token=%3Cscript%3E'))
          .statusCode,
      ).toBe(400);
    });

    it('renders hostile names, user ids, display names and errors as text', async () => {
      const id = await daemon.connection(projectId, { connector: 'hostile', name: HOSTILE });
      await updateConnection(daemon.store.db, projectId, id, { lastError: `upstream said ${HOSTILE}"'&` });
      await daemon.store.database.query('update connections set user_id = $1 where id = $2', [HOSTILE, id]);
      const b = await signIn(daemon.app, key.secret);
      for (const url of [
        '/console/connections',
        `/console/connections/${id}`,
        `/console/connections?user_id=${encodeURIComponent(HOSTILE)}`,
      ]) {
        const page = await get(daemon.app, b, url);
        expect(page.statusCode, url).toBe(200);
        expect(page.body, url).not.toContain('<script>alert');
        expect(page.body, url).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      }
      const apps = await get(daemon.app, b, '/console/keys');
      expect(apps.body).not.toContain('<script>alert');
    });

    it('filters connections by connector, status and user id', async () => {
      const a = await daemon.connection(projectId, { connector: 'keyed', name: 'alpha-conn' });
      const c = await daemon.connection(projectId, { connector: 'keyed', name: 'gamma-conn' });
      await daemon.store.database.query('update connections set user_id = $1 where id = $2', ['user-a', a]);
      await daemon.store.database.query("update connections set status = 'needs_reauth' where id = $1", [c]);
      const b = await signIn(daemon.app, key.secret);
      const byUser = (await get(daemon.app, b, '/console/connections?user_id=user-a')).body;
      expect(byUser).toContain('alpha-conn');
      expect(byUser).not.toContain('gamma-conn');
      const byStatus = (await get(daemon.app, b, '/console/connections?status=needs_reauth')).body;
      expect(byStatus).toContain('gamma-conn');
      expect(byStatus).not.toContain('alpha-conn');
      const byConnector = (await get(daemon.app, b, '/console/connections?connector=hostile')).body;
      expect(byConnector).not.toContain('alpha-conn');
      const none = await get(daemon.app, b, '/console/connections?connector=nothing&status=bogus&cursor=x');
      expect(none.statusCode).toBe(400);
    });

    it("re-authorises a connection on the Connect page: a session for it, OAuth or a key's alike", async () => {
      const gmail = await daemon.connection(projectId, { connector: 'gmail', name: 'mail' });
      const keyed = await daemon.connection(projectId, { connector: 'keyed', name: 'keyed-one' });
      const b = await signIn(daemon.app, key.secret);
      const page = await get(daemon.app, b, `/console/connections/${gmail}`);
      expect(page.body).toContain('>Re-authorise</button>');
      expect((await post(daemon.app, b, `/console/connections/${gmail}/reauthorise`, {})).statusCode).toBe(
        403,
      );
      for (const id of [gmail, keyed]) {
        const go = await post(daemon.app, b, `/console/connections/${id}/reauthorise`, { csrf: b.csrf });
        // The Connect page is at the public URL, another origin than this request's: a link to
        // it (a form may not redirect elsewhere); the browser test follows the redirect.
        expect(go.statusCode).toBe(200);
        const href = /<a class="button" href="([^"]+)"[^>]*>Continue to sign in at 127\.0\.0\.1:9<\/a>/.exec(
          go.body,
        )?.[1];
        expect(href).toMatch(/^http:\/\/127\.0\.0\.1:9\/connect#cnct_[A-Za-z0-9_-]+$/);
        // The session re-authorises that connection: the page offers its connector alone.
        const rows = await daemon.store.database.query<{ connection_id: string }>(
          'select connection_id from connect_sessions where connection_id = $1',
          [id],
        );
        expect(rows).toHaveLength(1);
      }
    });

    it('sets and deletes OAuth apps without ever showing the secret', async () => {
      const b = await signIn(daemon.app, key.secret);
      const saved = await post(daemon.app, b, '/console/oauth-apps', {
        connector: 'dropbox',
        client_id: 'dbx-id',
        client_secret: 'dbx-SECRET-77',
        csrf: b.csrf,
      });
      expect(saved.statusCode).toBe(200);
      expect(saved.body).toContain('dbx-id');
      expect(saved.body).not.toContain('dbx-SECRET-77');
      expect(
        (
          await post(daemon.app, b, '/console/oauth-apps', {
            connector: 'keyed',
            client_id: 'x',
            csrf: b.csrf,
          })
        ).statusCode,
      ).toBe(400);
      const deleted = await post(daemon.app, b, '/console/oauth-apps/dropbox/delete', { csrf: b.csrf });
      expect(deleted.statusCode).toBe(200);
      expect(deleted.body).not.toContain('dbx-id');
    });

    it('lists webhook deliveries and redelivers one; charts the metrics with text beside them', async () => {
      const auth = { authorization: `Bearer ${key.secret}` };
      const endpoint = await daemon.app.inject({
        method: 'POST',
        url: '/api/v1/webhooks',
        headers: auth,
        payload: { url: 'https://hooks.example.com/in', description: HOSTILE },
      });
      expect(endpoint.statusCode, endpoint.body).toBe(201);
      const id = endpoint.json<{ id: string }>().id;
      const sent = await daemon.app.inject({
        method: 'POST',
        url: `/api/v1/webhooks/${id}/test`,
        headers: auth,
      });
      expect(sent.statusCode, sent.body).toBeLessThan(300);
      const b = await signIn(daemon.app, key.secret);
      const list = await get(daemon.app, b, '/console/webhooks');
      expect(list.body).toContain('hooks.example.com');
      expect(list.body).not.toContain('<script>alert');
      const one = await get(daemon.app, b, `/console/webhooks/${id}`);
      const event = /deliveries\/([^/"]+)\/redeliver/.exec(one.body)?.[1] ?? '';
      expect(event).not.toBe('');
      const again = await post(daemon.app, b, `/console/webhooks/${id}/deliveries/${event}/redeliver`, {
        csrf: b.csrf,
      });
      expect(again.statusCode).toBe(200);
      expect(again.body).toContain('queued for delivery again');
      const metrics = await get(daemon.app, b, '/console/metrics');
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toContain('role="img"');
      expect(metrics.body).toContain('Webhook deliveries by state');
      expect(metrics.body).toMatch(/<td>pending<\/td><td>\d+<\/td>/);
    });
  });
}
