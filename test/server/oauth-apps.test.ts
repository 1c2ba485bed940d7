import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/core/connector/registry.js';
import type { ErrorEnvelope } from '../../src/server/errors.js';
import { findServerClient } from '../../src/server/oauth/client.js';
import { getOAuthApp } from '../../src/server/store/oauth-apps.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import type { App } from '../../src/server/types.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { LogCapture } from './helpers.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * PUT/GET/DELETE /api/v1/oauth-apps on the real store (PGlite, and real PostgreSQL where it
 * exists): two projects, real API keys; the secret is sealed, used by the server's OAuth
 * client lookup, and never appears in an answer or a log line.
 */

interface OAuthAppJson {
  connector: string;
  client_id: string;
  has_client_secret: boolean;
  has_webhook_secret: boolean;
  created_at: string;
  updated_at: string;
}

const SECRET = 'gmail-client-SECRET-42';
const OTHER_SECRET = 'dropbox-client-SECRET-43';

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`OAuth-app routes on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let store: OpenedServerStore;
    let app: App;
    const logs = new LogCapture();
    const answers: string[] = [];
    const keys = { alpha: '', beta: '' };
    const projects = { alpha: '', beta: '' };

    beforeAll(async () => {
      const head = (name: string): string =>
        `name: ${name}\ndisplay_name: ${name}\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\nhosts:\n  api: https://api.example.com\n`;
      const ping = 'endpoints:\n  me:\n    summary: Who am I.\n    method: GET\n    path: /me\n';
      daemon = await withServer({
        backend: variant,
        connectors: {
          acme: `${head('acme')}auth:\n  type: api_key\n  in: header\n  name: X-Api-Key\n${ping}`,
          pubapp: `${head('pubapp')}auth:\n  type: oauth2\n  authorization_url: https://auth.example.com/authorize\n  token_url: https://auth.example.com/token\n  scopes: [read]\n  client_secret: none\n${ping}`,
        },
        logs,
      });
      ({ store, app } = daemon);
      projects.alpha = await daemon.project('alpha');
      projects.beta = await daemon.project('beta');
      keys.alpha = await daemon.key(projects.alpha, { name: 'a' });
      keys.beta = await daemon.key(projects.beta, { name: 'b' });
    }, 60_000);

    afterAll(() => daemon.close());

    async function call(
      key: string | undefined,
      options: InjectOptions & { url: string },
    ): Promise<LightMyRequestResponse> {
      const res = await app.inject({
        ...options,
        headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...options.headers },
      });
      answers.push(JSON.stringify(res.headers), res.body);
      return res;
    }
    const put = (key: string, connector: string, payload: unknown): Promise<LightMyRequestResponse> =>
      call(key, {
        method: 'PUT',
        url: `/api/v1/oauth-apps/${connector}`,
        payload: payload as Record<string, unknown>,
      });
    const errorOf = (res: LightMyRequestResponse): ErrorEnvelope['error'] => res.json<ErrorEnvelope>().error;
    const list = async (key: string): Promise<OAuthAppJson[]> => {
      const res = await call(key, { url: '/api/v1/oauth-apps' });
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ oauth_apps: OAuthAppJson[] }>().oauth_apps;
    };

    it('PUT saves the app with its secret sealed, answers without it, and the server signs in with it', async () => {
      const res = await put(keys.alpha, 'gmail', {
        client_id: 'id-1.apps.example.com',
        client_secret: SECRET,
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json<OAuthAppJson>();
      expect(body).toEqual({
        connector: 'gmail',
        client_id: 'id-1.apps.example.com',
        has_client_secret: true,
        has_webhook_secret: false,
        created_at: expect.any(String) as string,
        updated_at: expect.any(String) as string,
      });
      expect(await getOAuthApp(store.db, store.keys, projects.alpha, 'gmail')).toEqual({
        connector: 'gmail',
        clientId: 'id-1.apps.example.com',
        clientSecret: SECRET,
      });
      // Sealed at rest: the ciphertext is not the secret.
      const [row] = await store.database.query<{ client_secret_encrypted: string }>(
        "select client_secret_encrypted from oauth_apps where connector = 'gmail'",
      );
      expect(row?.client_secret_encrypted).toBeTruthy();
      expect(row?.client_secret_encrypted.includes(SECRET)).toBe(false);
      // The lookup the browser sign-in and refreshes use finds it before the environment.
      const registry = await loadRegistry({});
      const gmail = registry.require('gmail');
      const found = await findServerClient(
        store,
        { GMAIL_CLIENT_ID: 'env-id', GMAIL_CLIENT_SECRET: 'env-secret' },
        projects.alpha,
        gmail,
        gmail.auth.type === 'oauth2' ? gmail.auth : expect.fail('gmail is OAuth'),
      );
      expect(found?.client).toEqual({ clientId: 'id-1.apps.example.com', clientSecret: SECRET });

      // Replacing it: a new id, and for an optional-secret connector a secret left out is removed.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const again = await put(keys.alpha, 'gmail', { client_id: 'id-2', client_secret: `${SECRET}-2` });
      expect(again.json<OAuthAppJson>()).toMatchObject({ client_id: 'id-2', created_at: body.created_at });
      expect(Date.parse(again.json<OAuthAppJson>().updated_at)).toBeGreaterThan(Date.parse(body.updated_at));
      expect(
        (await put(keys.alpha, 'dropbox', { client_id: 'dbx', client_secret: OTHER_SECRET })).statusCode,
      ).toBe(200);
      const withoutSecret = await put(keys.alpha, 'dropbox', { client_id: 'dbx' });
      expect(withoutSecret.json<OAuthAppJson>().has_client_secret).toBe(false);
      expect(
        (await getOAuthApp(store.db, store.keys, projects.alpha, 'dropbox'))?.clientSecret,
      ).toBeUndefined();
      // A public client: no secret at all.
      const pub = await put(keys.alpha, 'pubapp', { client_id: 'public-client' });
      expect(pub.statusCode, pub.body).toBe(200);
      expect(pub.json<OAuthAppJson>().has_client_secret).toBe(false);
    });

    it('PUT keeps a webhook secret sealed, never answers it, and refuses one for a connector without webhooks', async () => {
      const WEBHOOK = 'dropbox-APP-secret-WEBHOOK-44';
      const res = await call(keys.beta, {
        method: 'PUT',
        url: '/api/v1/oauth-apps/dropbox',
        payload: { client_id: 'dbx', client_secret: OTHER_SECRET, webhook_secret: WEBHOOK },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<OAuthAppJson>().has_webhook_secret).toBe(true);
      answers.push(res.body);
      const listed = await call(keys.beta, { url: '/api/v1/oauth-apps' });
      answers.push(listed.body);
      expect(listed.body).not.toContain(WEBHOOK);
      const sealed = await store.database.query<{ webhook_secret_encrypted: string }>(
        "select webhook_secret_encrypted from oauth_apps where connector = 'dropbox'",
      );
      expect(sealed.map((r) => r.webhook_secret_encrypted).join()).not.toContain(WEBHOOK);
      const refused = await call(keys.beta, {
        method: 'PUT',
        url: '/api/v1/oauth-apps/pubapp',
        payload: { client_id: 'p', webhook_secret: WEBHOOK },
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.json<ErrorEnvelope>().error.details[0]?.field).toBe('body.webhook_secret');
      expect(logs.text).not.toContain(WEBHOOK);
      // Left out: removed, as client_secret is.
      await call(keys.beta, {
        method: 'PUT',
        url: '/api/v1/oauth-apps/dropbox',
        payload: { client_id: 'dbx', client_secret: OTHER_SECRET },
      });
      const after = await call(keys.beta, { url: '/api/v1/oauth-apps' });
      expect(
        after.json<{ oauth_apps: OAuthAppJson[] }>().oauth_apps.find((a) => a.connector === 'dropbox')
          ?.has_webhook_secret,
      ).toBe(false);
      await call(keys.beta, { method: 'DELETE', url: '/api/v1/oauth-apps/dropbox' });
    });

    it('GET lists the project’s apps by connector, no secret; another project sees only its own', async () => {
      const apps = await list(keys.alpha);
      expect(apps.map((a) => [a.connector, a.client_id, a.has_client_secret])).toEqual([
        ['dropbox', 'dbx', false],
        ['gmail', 'id-2', true],
        ['pubapp', 'public-client', false],
      ]);
      expect(await list(keys.beta)).toEqual([]);
      expect(
        (await put(keys.beta, 'gmail', { client_id: 'beta-id', client_secret: 'beta-secret' })).statusCode,
      ).toBe(200);
      expect((await list(keys.beta)).map((a) => a.client_id)).toEqual(['beta-id']);
      expect((await getOAuthApp(store.db, store.keys, projects.alpha, 'gmail'))?.clientId).toBe('id-2');
    });

    it('DELETE forgets the app of this project only; 404 when there is none', async () => {
      const del = await call(keys.beta, { method: 'DELETE', url: '/api/v1/oauth-apps/gmail' });
      expect(del.statusCode, del.body).toBe(200);
      expect(del.json()).toEqual({ connector: 'gmail', deleted: true });
      expect(await list(keys.beta)).toEqual([]);
      expect((await getOAuthApp(store.db, store.keys, projects.alpha, 'gmail'))?.clientId).toBe('id-2');
      const again = await call(keys.beta, { method: 'DELETE', url: '/api/v1/oauth-apps/gmail' });
      expect(again.statusCode).toBe(404);
      expect(errorOf(again).hint).toContain('GET /api/v1/oauth-apps');
    });

    it('refuses an unknown connector (404 with the nearest), a non-OAuth one, and secrets missing, out of place or hostile', async () => {
      const before = await list(keys.alpha);
      const unknown = await put(keys.alpha, 'gmial', { client_id: 'x', client_secret: 'y' });
      expect(unknown.statusCode).toBe(404);
      expect(errorOf(unknown).hint).toContain('did you mean "gmail"?');
      const refused = async (connector: string, payload: unknown, field: string): Promise<void> => {
        const res = await put(keys.alpha, connector, payload);
        expect(res.statusCode, `${connector} ${JSON.stringify(payload)}`).toBe(400);
        expect(
          errorOf(res).details.map((d) => d.field),
          JSON.stringify(payload),
        ).toContain(field);
      };
      await refused('acme', { client_id: 'x' }, 'params.connector');
      await refused('gmail', { client_id: 'x' }, 'body.client_secret');
      await refused('pubapp', { client_id: 'x', client_secret: 'y' }, 'body.client_secret');
      await refused('gmail', { client_secret: 'y' }, 'body.client_id');
      await refused('gmail', { client_id: '   ', client_secret: 'y' }, 'body.client_id');
      await refused('gmail', { client_id: 'x\r\nSet-Cookie: a=b', client_secret: 'y' }, 'body.client_id');
      await refused('gmail', { client_id: 'x', client_secret: 'y\u0000z' }, 'body.client_secret');
      await refused('gmail', { client_id: 'x'.repeat(1025), client_secret: 'y' }, 'body.client_id');
      await refused('gmail', { client_id: 'x', client_secret: 'y'.repeat(4097) }, 'body.client_secret');
      await refused('gmail', { client_id: 'x', client_secret: 'y', extra: 1 }, 'body');
      await refused('Gmail', { client_id: 'x', client_secret: 'y' }, 'params.connector');
      await refused('..%2F..', { client_id: 'x', client_secret: 'y' }, 'params.connector');
      expect(await list(keys.alpha)).toEqual(before);
      // No key, no app.
      expect((await call(undefined, { url: '/api/v1/oauth-apps' })).statusCode).toBe(401);
      expect(
        (
          await call(undefined, {
            method: 'PUT',
            url: '/api/v1/oauth-apps/gmail',
            payload: { client_id: 'x', client_secret: 'y' },
          })
        ).statusCode,
      ).toBe(401);
      expect(await list(keys.alpha)).toEqual(before);
    });

    it('/openapi.json describes the three routes', async () => {
      const res = await app.inject({ url: '/openapi.json' });
      const doc = res.json<{
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      }>();
      expect(Object.keys(doc.paths['/api/v1/oauth-apps/{connector}'] ?? {}).sort()).toEqual([
        'delete',
        'put',
      ]);
      expect(Object.keys(doc.paths['/api/v1/oauth-apps/{connector}']?.put?.responses ?? {})).toEqual(
        expect.arrayContaining(['200', '400', '404']) as string[],
      );
      expect(Object.keys(doc.paths['/api/v1/oauth-apps'] ?? {})).toEqual(['get']);
    });

    it('no client secret and no API key appeared in any answer or log line', () => {
      expect(answers.length).toBeGreaterThan(20);
      const everything = `${answers.join('\n')}\n${logs.text}`;
      for (const secret of [SECRET, `${SECRET}-2`, OTHER_SECRET, 'beta-secret', keys.alpha, keys.beta])
        expect(everything.includes(secret), secret.slice(0, 8)).toBe(false);
    });
  });
}
