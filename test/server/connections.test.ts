import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorEnvelope } from '../../src/server/errors.js';
import { revokeApiKey } from '../../src/server/store/api-keys.js';
import { createConnection } from '../../src/server/store/connections.js';
import { getCredential, putCredential } from '../../src/server/store/credentials.js';
import { putOAuthApp } from '../../src/server/store/oauth-apps.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import type { App } from '../../src/server/types.js';
import { BACKENDS, CacheClock, variantTitle } from '../helpers/server-store.js';

/** Moves the caches on after a change made straight in the database (as another instance would). */
const clock = new CacheClock();
import { LogCapture } from './helpers.js';
import type { ConnectionJson } from '../../src/server/routes/connections/shape.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * The connection routes on the real store (PGlite, and real PostgreSQL where it exists): two
 * projects, real API keys, a real local revocation endpoint. Every answer and log line is
 * kept, to check at the end that no API key or stored secret ever appeared in one.
 */

/** An injected request whose url is a plain string. */
type Route = InjectOptions & { url: string };

/** A local RFC 7009 revocation endpoint: records each request, answers with `status`. */
class RevocationServer {
  readonly requests: { authorization: string | undefined; body: URLSearchParams }[] = [];
  status = 200;
  private readonly server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      this.requests.push({ authorization: req.headers.authorization, body: new URLSearchParams(body) });
      res.writeHead(this.status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  url = '';
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/revoke`;
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const ACME_KEY = 'acme-upstream-key-SECRET-1';
const BASIC_PASSWORD = 'hunter2-SECRET-password';
const ACCESS_TOKEN = 'ya29.access-SECRET-token';
const REFRESH_TOKEN = '1//refresh-SECRET-token';
const CLIENT_SECRET = 'gmail-client-SECRET';

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`connection routes on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let store: OpenedServerStore;
    let app: App;
    const logs = new LogCapture();
    const revocation = new RevocationServer();
    /** Every answer body, to search for secrets at the end. */
    const answers: string[] = [];
    const keys = { alpha: '', beta: '', tokenReader: '', revoked: '' };

    beforeAll(async () => {
      await revocation.start();
      const head = (name: string): string =>
        `name: ${name}\ndisplay_name: ${name}\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\nhosts:\n  api: https://api.example.com\n`;
      const ping = 'endpoints:\n  me:\n    summary: Who am I.\n    method: GET\n    path: /me\n';
      daemon = await withServer({
        backend: variant,
        connectors: {
          acme: `${head('acme')}auth:\n  type: api_key\n  in: header\n  name: X-Api-Key\n${ping}`,
          basicco: `${head('basicco')}auth:\n  type: basic\n${ping}`,
        },
        env: {
          CONNECTR_GMAIL_REVOCATION_URL: revocation.url,
          GMAIL_CLIENT_ID: 'gmail-client-id',
          GMAIL_CLIENT_SECRET: CLIENT_SECRET,
        },
        cacheNow: clock.now,
        logs,
      });
      ({ store, app } = daemon);
      const alpha = await daemon.project('alpha');
      const beta = await daemon.project('beta');
      keys.alpha = await daemon.key(alpha, { name: 'a' });
      keys.tokenReader = await daemon.key(alpha, { name: 'tokens', allowToken: true });
      keys.beta = await daemon.key(beta, { name: 'b', allowToken: true });
      const revoked = await daemon.createKey(alpha, { name: 'gone' });
      keys.revoked = revoked.secret;
      await revokeApiKey(store.db, revoked.id);
    }, 60_000);

    afterAll(async () => {
      await daemon.close();
      await revocation.close();
    });

    async function call(
      key: string | undefined,
      options: InjectOptions & { payload?: unknown },
    ): Promise<LightMyRequestResponse> {
      const res = await app.inject({
        ...options,
        headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...options.headers },
      });
      answers.push(JSON.stringify(res.headers), res.body);
      return res;
    }
    const create = async (key: string, body: Record<string, unknown>): Promise<ConnectionJson> => {
      const res = await call(key, { method: 'POST', url: '/api/v1/connections', payload: body });
      expect(res.statusCode, res.body).toBe(201);
      return res.json<ConnectionJson>();
    };
    const errorOf = (res: LightMyRequestResponse): ErrorEnvelope['error'] => res.json<ErrorEnvelope>().error;
    const counts = async (): Promise<{ connections: number; credentials: number }> => {
      const [row] = await store.database.query<{ connections: number; credentials: number }>(
        'select (select count(*)::int from connections) as connections, (select count(*)::int from credentials) as credentials',
      );
      if (!row) throw new Error('no counts');
      return row;
    };

    it('POST creates a pending connection of the key’s project, with every field', async () => {
      const before = Date.now();
      const res = await call(keys.alpha, {
        method: 'POST',
        url: '/api/v1/connections',
        payload: { connector_type: 'gmail', name: 'Work mail', user_id: 'user-1' },
      });
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json<ConnectionJson>();
      expect(body).toEqual({
        id: expect.stringMatching(/^conn_[a-z2-7]{26}$/) as string,
        connector_type: 'gmail',
        connector_version: 1,
        name: 'Work mail',
        user_id: 'user-1',
        status: 'pending',
        account_identity: null,
        scopes: [],
        created_at: expect.any(String) as string,
        updated_at: expect.any(String) as string,
        last_refresh_at: null,
        last_used_at: null,
        last_checked_at: null,
        last_error: null,
        tags: {},
      });
      expect(Date.parse(body.created_at)).toBeGreaterThanOrEqual(before - 1000);
      expect(res.headers.location).toBe(`/api/v1/connections/${body.id}`);
      const shown = await call(keys.alpha, { url: `/api/v1/connections/${body.id}` });
      expect(shown.statusCode).toBe(200);
      expect(shown.json()).toEqual(body);
      // user_id may be left out.
      expect((await create(keys.alpha, { connector_type: 'acme', name: 'no user' })).user_id).toBeNull();
    });

    it('an unknown connector is a 400 naming body.connector_type, suggesting the nearest and listing the known ones', async () => {
      const before = await counts();
      const res = await call(keys.alpha, {
        method: 'POST',
        url: '/api/v1/connections',
        payload: { connector_type: 'gmial', name: 'x', user_id: 'u' },
      });
      expect(res.statusCode).toBe(400);
      const error = errorOf(res);
      expect(error.code).toBe('invalid_input');
      expect(error.details).toEqual([{ field: 'body.connector_type', message: 'unknown connector "gmial"' }]);
      expect(error.hint).toContain('did you mean "gmail"?');
      expect(error.hint).toContain('acme, basicco');
      expect(await counts()).toEqual(before);
    });

    it.each([
      ['malformed JSON', '{"connector_type": "gmail",', 'body'],
      ['a missing field', { connector_type: 'gmail' }, 'body.name'],
      ['a field of the wrong type', { connector_type: 'gmail', name: 42 }, 'body.name'],
      ['a control character', { connector_type: 'gmail', name: 'a\u0007b' }, 'body.name'],
      ['a blank name', { connector_type: 'gmail', name: '   ' }, 'body.name'],
      ['an over-long name', { connector_type: 'gmail', name: 'n'.repeat(201) }, 'body.name'],
      ['an empty user_id', { connector_type: 'gmail', name: 'x', user_id: '' }, 'body.user_id'],
      ['a newline in user_id', { connector_type: 'gmail', name: 'x', user_id: 'a\nb' }, 'body.user_id'],
      ['an unknown field', { connector_type: 'gmail', name: 'x', project_id: 'prj_other' }, 'body'],
      ['an array body', [{ connector_type: 'gmail', name: 'x' }], 'body'],
    ])('POST with %s is a 400 naming the field, and creates nothing', async (_what, payload, field) => {
      const before = await counts();
      const res = await call(keys.alpha, {
        method: 'POST',
        url: '/api/v1/connections',
        headers: { 'content-type': 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res).code).toBe('invalid_input');
      expect(errorOf(res).details.map((d) => d.field)).toContain(field);
      expect(await counts()).toEqual(before);
    });

    it('an oversized body is a 413 and creates nothing', async () => {
      const before = await counts();
      const res = await call(keys.alpha, {
        method: 'POST',
        url: '/api/v1/connections',
        payload: { connector_type: 'gmail', name: 'x', user_id: 'u'.repeat(2 * 1024 * 1024) },
      });
      expect(res.statusCode).toBe(413);
      expect(await counts()).toEqual(before);
    });

    it('without a key, with a revoked key or a wrong one, every route is a 401', async () => {
      const conn = await create(keys.alpha, { connector_type: 'acme', name: 'auth test' });
      const routes: Route[] = [
        { method: 'POST', url: '/api/v1/connections', payload: { connector_type: 'acme', name: 'x' } },
        { method: 'GET', url: '/api/v1/connections' },
        { method: 'GET', url: `/api/v1/connections/${conn.id}` },
        { method: 'DELETE', url: `/api/v1/connections/${conn.id}` },
        { method: 'PUT', url: `/api/v1/connections/${conn.id}/credentials`, payload: { api_key: 'k' } },
        { method: 'GET', url: `/api/v1/connections/${conn.id}/token` },
      ];
      const before = await counts();
      for (const key of [undefined, keys.revoked, `${keys.alpha.slice(0, -2)}xx`]) {
        for (const route of routes) {
          const res = await call(key, route);
          expect(res.statusCode, `${route.method ?? 'GET'} ${route.url}`).toBe(401);
          expect(errorOf(res).code).toBe('auth_required');
        }
      }
      expect(await counts()).toEqual(before);
      expect((await call(keys.alpha, { url: `/api/v1/connections/${conn.id}` })).statusCode).toBe(200);
    });

    it("another project's connection is a 404 on every route, the same answer as an unknown id, and is left alone", async () => {
      const theirs = await create(keys.beta, {
        connector_type: 'acme',
        name: 'beta conn',
        user_id: 'b-user',
      });
      const unknown = 'conn_aaaaaaaaaaaaaaaaaaaaaaaaaa';
      const routes = (id: string): Route[] => [
        { method: 'GET', url: `/api/v1/connections/${id}` },
        { method: 'DELETE', url: `/api/v1/connections/${id}` },
        { method: 'PUT', url: `/api/v1/connections/${id}/credentials`, payload: { api_key: ACME_KEY } },
        { method: 'GET', url: `/api/v1/connections/${id}/token` },
      ];
      const before = await counts();
      for (const key of [keys.alpha, keys.tokenReader]) {
        const [ours, missing] = [routes(theirs.id), routes(unknown)];
        for (const [i, route] of ours.entries()) {
          const res = await call(key, route);
          const other = await call(key, missing[i] ?? { url: '/' });
          const what = `${route.method ?? 'GET'} ${route.url}`;
          if (key === keys.alpha && route.url.endsWith('/token')) {
            // This key may not read tokens at all: 403 whatever the id.
            expect(res.statusCode, what).toBe(403);
            expect(other.statusCode, what).toBe(403);
            continue;
          }
          expect(res.statusCode, what).toBe(404);
          expect(other.statusCode, what).toBe(404);
          expect(errorOf(res).message.replace(theirs.id, 'ID')).toBe(
            errorOf(other).message.replace(unknown, 'ID'),
          );
          expect(errorOf(res).code).toBe('not_found');
        }
      }
      expect(await counts()).toEqual(before);
      const list = await call(keys.alpha, { url: '/api/v1/connections?user_id=b-user' });
      expect(list.json<{ connections: unknown[] }>().connections).toEqual([]);
      const still = await call(keys.beta, { url: `/api/v1/connections/${theirs.id}` });
      expect(still.json()).toEqual(theirs);
    });

    it('a malformed id is a 400 naming params.id', async () => {
      for (const id of ['..%2F..%2Fetc', 'CONN_X', `conn_${'a'.repeat(80)}`, 'conn_a%0Ab']) {
        const res = await call(keys.alpha, { url: `/api/v1/connections/${id}` });
        expect(res.statusCode, id).toBe(400);
        expect(errorOf(res).details.map((d) => d.field)).toContain('params.id');
      }
    });

    it('GET /connections pages through the project’s connections with filters and next_cursor', async () => {
      const made: ConnectionJson[] = [];
      for (let i = 0; i < 5; i++)
        made.push(
          await create(keys.beta, {
            connector_type: i % 2 ? 'basicco' : 'acme',
            name: `page ${i}`,
            user_id: 'pager',
          }),
        );
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 5; page++) {
        const query = `user_id=pager&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await call(keys.beta, { url: `/api/v1/connections?${query}` });
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json<{ connections: ConnectionJson[]; next_cursor: string | null }>();
        expect(body.connections.length).toBeLessThanOrEqual(2);
        seen.push(...body.connections.map((c) => c.id));
        cursor = body.next_cursor;
        if (!cursor) break;
      }
      expect(seen).toEqual(made.map((c) => c.id));
      const basic = await call(keys.beta, {
        url: '/api/v1/connections?user_id=pager&connector_type=basicco',
      });
      expect(basic.json<{ connections: ConnectionJson[] }>().connections.map((c) => c.name)).toEqual([
        'page 1',
        'page 3',
      ]);
      // The other project sees none of them.
      const alpha = await call(keys.alpha, { url: '/api/v1/connections?limit=200' });
      const alphaIds = alpha.json<{ connections: ConnectionJson[] }>().connections.map((c) => c.id);
      expect(alphaIds.length).toBeGreaterThan(0);
      for (const c of made) expect(alphaIds).not.toContain(c.id);
    });

    it.each([
      ['cursor=not-a-cursor', 'query.cursor'],
      [`cursor=${Buffer.from('["yesterday","x"]').toString('base64url')}`, 'query.cursor'],
      [`cursor=${'a'.repeat(600)}`, 'query.cursor'],
      ['limit=0', 'query.limit'],
      ['limit=201', 'query.limit'],
      ['limit=2.5', 'query.limit'],
      ['limit=ten', 'query.limit'],
      ['user_id=%07', 'query.user_id'],
      ['sort=name', 'query'],
    ])('GET /connections?%s is a 400 naming %s', async (query, field) => {
      const res = await call(keys.alpha, { url: `/api/v1/connections?${query}` });
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res).details.map((d) => d.field)).toContain(field);
    });

    it('PUT credentials stores an API key encrypted, activates the connection, and never echoes it', async () => {
      const conn = await create(keys.alpha, { connector_type: 'acme', name: 'keyed', user_id: 'u' });
      const res = await call(keys.alpha, {
        method: 'PUT',
        url: `/api/v1/connections/${conn.id}/credentials`,
        payload: { api_key: ACME_KEY },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<ConnectionJson>()).toMatchObject({ id: conn.id, status: 'active', last_error: null });
      const { project } = await ensureProject(store.db, 'alpha');
      const stored = await getCredential(store.db, store.keys, project.id, conn.id);
      expect(stored?.secret).toEqual({ api_key: ACME_KEY });
      const raw = await store.database.query<{ secret_encrypted: string }>(
        'select secret_encrypted from credentials where connection_id = $1',
        [conn.id],
      );
      expect(raw[0]?.secret_encrypted).not.toContain(ACME_KEY);
      // Basic: user name and password.
      const basic = await create(keys.alpha, { connector_type: 'basicco', name: 'pw' });
      const put = await call(keys.alpha, {
        method: 'PUT',
        url: `/api/v1/connections/${basic.id}/credentials`,
        payload: { username: 'ada', password: BASIC_PASSWORD },
      });
      expect(put.statusCode, put.body).toBe(200);
      expect((await getCredential(store.db, store.keys, project.id, basic.id))?.secret).toEqual({
        username: 'ada',
        password: BASIC_PASSWORD,
      });
    });

    it.each([
      ['acme', { username: 'a', password: 'b' }, 'body.username'],
      ['acme', {}, 'body.api_key'],
      ['acme', { api_key: 42 }, 'body.api_key'],
      ['acme', { api_key: 'a\r\nX-Evil: 1' }, 'body.api_key'],
      ['acme', { api_key: 'k', extra: 1 }, 'body'],
      ['basicco', { api_key: 'k' }, 'body.api_key'],
      ['basicco', { username: 'ada' }, 'body.password'],
      ['basicco', { username: 'a:b', password: 'p' }, 'body.username'],
    ])(
      'PUT credentials on %s with %j is a 400 naming %s, and stores nothing',
      async (type, payload, field) => {
        const conn = await create(keys.alpha, { connector_type: type, name: 'bad creds' });
        const before = await counts();
        const res = await call(keys.alpha, {
          method: 'PUT',
          url: `/api/v1/connections/${conn.id}/credentials`,
          payload,
        });
        expect(res.statusCode, res.body).toBe(400);
        expect(errorOf(res).details.map((d) => d.field)).toContain(field);
        expect(await counts()).toEqual(before);
        const after = await call(keys.alpha, { url: `/api/v1/connections/${conn.id}` });
        expect(after.json<ConnectionJson>().status).toBe('pending');
      },
    );

    it('PUT credentials on an OAuth connection stores a token set as the web flow does: active, nothing secret in the answer', async () => {
      const { project } = await ensureProject(store.db, 'alpha');
      const conn = await create(keys.alpha, { connector_type: 'gmail', name: 'pushed' });
      const res = await call(keys.alpha, {
        method: 'PUT',
        url: `/api/v1/connections/${conn.id}/credentials`,
        payload: {
          access_token: ACCESS_TOKEN,
          refresh_token: REFRESH_TOKEN,
          expires_at: '2031-02-03T04:05:06+01:00',
          scopes: ['openid', 'https://www.googleapis.com/auth/gmail.readonly'],
          account: 'ada@example.com',
        },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        id: conn.id,
        status: 'active',
        account_identity: 'ada@example.com',
        scopes: ['openid', 'https://www.googleapis.com/auth/gmail.readonly'],
        last_error: null,
      });
      expect(res.json<ConnectionJson>().last_refresh_at).not.toBeNull();
      // The web flow's shape (oauth/tokens.ts), one shape for both ways in.
      const stored = await getCredential(store.db, store.keys, project.id, conn.id);
      expect(stored?.secret).toEqual({
        access_token: ACCESS_TOKEN,
        token_type: 'Bearer',
        refresh_token: REFRESH_TOKEN,
        scopes: ['openid', 'https://www.googleapis.com/auth/gmail.readonly'],
        expires_at: '2031-02-03T03:05:06.000Z',
      });
      expect(stored?.expiresAt?.toISOString()).toBe('2031-02-03T03:05:06.000Z');
      const token = await call(keys.tokenReader, { url: `/api/v1/connections/${conn.id}/token` });
      expect(token.json()).toEqual({
        access_token: ACCESS_TOKEN,
        token_type: 'Bearer',
        expires_at: '2031-02-03T03:05:06.000Z',
      });
      answers.pop(); // that answer holds the token, on purpose

      // expires_in instead, no refresh token, no account: the identity already known stays.
      const before = Date.now();
      const again = await call(keys.alpha, {
        method: 'PUT',
        url: `/api/v1/connections/${conn.id}/credentials`,
        payload: { access_token: `${ACCESS_TOKEN}-2`, expires_in: 3600, token_type: 'bearer' },
      });
      expect(again.statusCode, again.body).toBe(200);
      expect(again.json()).toMatchObject({ account_identity: 'ada@example.com', scopes: [] });
      const second = await getCredential<Record<string, unknown>>(store.db, store.keys, project.id, conn.id);
      expect(second?.secret).toEqual({
        access_token: `${ACCESS_TOKEN}-2`,
        token_type: 'bearer',
        scopes: [],
        expires_at: second?.expiresAt?.toISOString(),
      });
      const expiry = second?.expiresAt?.getTime() ?? 0;
      expect(expiry).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
      expect(expiry).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    });

    it('PUT credentials refuses wrong token sets with a 400 naming the field, and stores nothing', async () => {
      const conn = await create(keys.alpha, { connector_type: 'gmail', name: 'oauth' });
      const acme = await create(keys.alpha, { connector_type: 'acme', name: 'key' });
      const before = await counts();
      const refused = async (id: string, payload: Record<string, unknown>, field: string): Promise<void> => {
        const res = await call(keys.alpha, {
          method: 'PUT',
          url: `/api/v1/connections/${id}/credentials`,
          payload,
        });
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(
          errorOf(res).details.map((d) => d.field),
          JSON.stringify(payload),
        ).toContain(field);
      };
      const wrongKind = await call(keys.alpha, {
        method: 'PUT',
        url: `/api/v1/connections/${conn.id}/credentials`,
        payload: { api_key: 'k' },
      });
      expect(wrongKind.statusCode).toBe(400);
      expect(errorOf(wrongKind).hint).toContain('POST /api/v1/oauth/authorize');
      await refused(conn.id, { refresh_token: REFRESH_TOKEN }, 'body.access_token');
      await refused(
        conn.id,
        { access_token: 'a', expires_at: '2031-01-01T00:00:00Z', expires_in: 60 },
        'body.expires_in',
      );
      await refused(conn.id, { access_token: 'a', expires_at: 'tomorrow' }, 'body.expires_at');
      await refused(conn.id, { access_token: 'a', expires_at: '2031-01-01T00:00:00' }, 'body.expires_at');
      await refused(conn.id, { access_token: 'a', expires_in: 0 }, 'body.expires_in');
      await refused(conn.id, { access_token: 'a', expires_in: 1.5 }, 'body.expires_in');
      await refused(conn.id, { access_token: 'a\r\nX-Injected: 1' }, 'body.access_token');
      await refused(conn.id, { access_token: 'x'.repeat(4097) }, 'body.access_token');
      await refused(conn.id, { access_token: 'a', token_type: 'Bearer x' }, 'body.token_type');
      await refused(conn.id, { access_token: 'a', scopes: ['two words'] }, 'body.scopes.0');
      await refused(conn.id, { access_token: 'a', account: '\u001b[31mred' }, 'body.account');
      await refused(conn.id, { access_token: 'a', id_token: 'x' }, 'body');
      // A token set on an api_key connection.
      await refused(acme.id, { api_key: ACME_KEY, access_token: 'a' }, 'body.access_token');
      expect(await counts()).toEqual(before);
      const shown = await call(keys.alpha, { url: `/api/v1/connections/${conn.id}` });
      expect(shown.json<ConnectionJson>().status).toBe('pending');
    });

    it('GET token: 403 with the fix for a key without --allow-token; the token for one with it; 409 without a token', async () => {
      const { project } = await ensureProject(store.db, 'alpha');
      const conn = await create(keys.alpha, { connector_type: 'gmail', name: 'tokens' });
      const url = `/api/v1/connections/${conn.id}/token`;
      const empty = await call(keys.tokenReader, { url });
      expect(empty.statusCode).toBe(409);
      expect(errorOf(empty).hint).toContain('/oauth/authorize');
      const expiresAt = new Date(Date.now() + 3600_000);
      await putCredential(store.db, store.keys, {
        projectId: project.id,
        connectionId: conn.id,
        secret: { access_token: ACCESS_TOKEN, refresh_token: REFRESH_TOKEN, token_type: 'Bearer' },
        expiresAt,
      });
      clock.pass();
      const denied = await call(keys.alpha, { url });
      expect(denied.statusCode).toBe(403);
      expect(errorOf(denied)).toMatchObject({
        code: 'forbidden',
        hint: expect.stringContaining('connectr serve keys create') as string,
      });
      expect(errorOf(denied).hint).toContain('--allow-token');
      const res = await app.inject({ url, headers: { authorization: `Bearer ${keys.tokenReader}` } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.json()).toEqual({
        access_token: ACCESS_TOKEN,
        token_type: 'Bearer',
        expires_at: expiresAt.toISOString(),
      });
      // An API-key connection has no access token to give.
      const keyed = await create(keys.alpha, { connector_type: 'acme', name: 'no token' });
      const notOAuth = await call(keys.tokenReader, { url: `/api/v1/connections/${keyed.id}/token` });
      expect(notOAuth.statusCode).toBe(409);
    });

    it('DELETE removes the connection and its credential; no revocation URL means revoked: false', async () => {
      const conn = await create(keys.alpha, { connector_type: 'acme', name: 'to delete' });
      await call(keys.alpha, {
        method: 'PUT',
        url: `/api/v1/connections/${conn.id}/credentials`,
        payload: { api_key: ACME_KEY },
      });
      const before = await counts();
      const res = await call(keys.alpha, { method: 'DELETE', url: `/api/v1/connections/${conn.id}` });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ deleted: true, revoked: false });
      expect(await counts()).toEqual({
        connections: before.connections - 1,
        credentials: before.credentials - 1,
      });
      expect((await call(keys.alpha, { url: `/api/v1/connections/${conn.id}` })).statusCode).toBe(404);
      expect(
        (await call(keys.alpha, { method: 'DELETE', url: `/api/v1/connections/${conn.id}` })).statusCode,
      ).toBe(404);
    });

    it('DELETE of an OAuth connection revokes the refresh token at the provider with the client from the environment, then the saved app', async () => {
      const { project } = await ensureProject(store.db, 'alpha');
      const tokens = { access_token: ACCESS_TOKEN, refresh_token: REFRESH_TOKEN, token_type: 'Bearer' };
      const conn = await create(keys.alpha, { connector_type: 'gmail', name: 'revoke me' });
      await putCredential(store.db, store.keys, {
        projectId: project.id,
        connectionId: conn.id,
        secret: tokens,
      });
      revocation.requests.length = 0;
      const res = await call(keys.alpha, { method: 'DELETE', url: `/api/v1/connections/${conn.id}` });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ deleted: true, revoked: true });
      expect(revocation.requests).toHaveLength(1);
      const sent = revocation.requests[0]?.body;
      expect(sent?.get('token')).toBe(REFRESH_TOKEN);
      expect(sent?.get('token_type_hint')).toBe('refresh_token');
      // gmail's client_auth is post: the client in the form body.
      expect(sent?.get('client_id')).toBe('gmail-client-id');
      expect(sent?.get('client_secret')).toBe(CLIENT_SECRET);

      // The project's saved OAuth app comes before the environment.
      await putOAuthApp(store.db, store.keys, {
        projectId: project.id,
        connector: 'gmail',
        clientId: 'saved-client-id',
        clientSecret: 'saved-client-secret',
      });
      const second = await create(keys.alpha, { connector_type: 'gmail', name: 'revoke me too' });
      await putCredential(store.db, store.keys, {
        projectId: project.id,
        connectionId: second.id,
        secret: tokens,
      });
      const again = await call(keys.alpha, { method: 'DELETE', url: `/api/v1/connections/${second.id}` });
      expect(again.json()).toEqual({ deleted: true, revoked: true });
      expect(revocation.requests[1]?.body.get('client_id')).toBe('saved-client-id');
    });

    it('a revocation the provider refuses is reported, and the connection is deleted all the same', async () => {
      const { project } = await ensureProject(store.db, 'alpha');
      const conn = await create(keys.alpha, { connector_type: 'gmail', name: 'refused' });
      await putCredential(store.db, store.keys, {
        projectId: project.id,
        connectionId: conn.id,
        secret: { access_token: ACCESS_TOKEN, token_type: 'Bearer' },
      });
      revocation.status = 503;
      try {
        const res = await call(keys.alpha, { method: 'DELETE', url: `/api/v1/connections/${conn.id}` });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({
          deleted: true,
          revoked: false,
          revoke_error: expect.stringContaining('HTTP 503') as string,
        });
        // Only an access token was stored: that is what was revoked.
        expect(revocation.requests.at(-1)?.body.get('token')).toBe(ACCESS_TOKEN);
      } finally {
        revocation.status = 200;
      }
      expect((await call(keys.alpha, { url: `/api/v1/connections/${conn.id}` })).statusCode).toBe(404);
      expect(await getCredential(store.db, store.keys, project.id, conn.id)).toBeUndefined();
    });

    it('a connection whose connector is no longer defined can be read and deleted, not given credentials', async () => {
      const { project } = await ensureProject(store.db, 'alpha');
      const row = await createConnection(store.db, {
        projectId: project.id,
        connector: 'vanished',
        name: 'old',
      });
      const shown = await call(keys.alpha, { url: `/api/v1/connections/${row.id}` });
      expect(shown.json<ConnectionJson>().connector_type).toBe('vanished');
      const put = await call(keys.alpha, {
        method: 'PUT',
        url: `/api/v1/connections/${row.id}/credentials`,
        payload: { api_key: ACME_KEY },
      });
      expect(put.statusCode).toBe(400);
      expect(errorOf(put).message).toContain('"vanished"');
      const gone = await call(keys.alpha, { method: 'DELETE', url: `/api/v1/connections/${row.id}` });
      expect(gone.json()).toEqual({ deleted: true, revoked: false });
    });

    it('a credential that fails its integrity check does not make the connection undeletable', async () => {
      const first = await create(keys.alpha, { connector_type: 'acme', name: 'tampered' });
      const second = await create(keys.alpha, { connector_type: 'acme', name: 'donor' });
      for (const c of [first, second])
        await call(keys.alpha, {
          method: 'PUT',
          url: `/api/v1/connections/${c.id}/credentials`,
          payload: { api_key: ACME_KEY },
        });
      // The donor's ciphertext, moved onto the first connection: bound to its row, it does not open.
      await store.database.query(
        'update credentials set secret_encrypted = (select secret_encrypted from credentials where connection_id = $2) where connection_id = $1',
        [first.id, second.id],
      );
      const res = await call(keys.alpha, { method: 'DELETE', url: `/api/v1/connections/${first.id}` });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({
        deleted: true,
        revoked: false,
        revoke_error: expect.stringContaining('integrity check') as string,
      });
      expect((await call(keys.alpha, { url: `/api/v1/connections/${first.id}` })).statusCode).toBe(404);
    });

    it('/openapi.json describes every connection route with its answers', async () => {
      const res = await app.inject({ url: '/openapi.json' });
      const doc = res.json<{
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      }>();
      const statuses = (path: string, method: string): string[] =>
        Object.keys(doc.paths[path]?.[method]?.responses ?? {}).sort();
      expect(statuses('/api/v1/connections', 'post')).toContain('201');
      expect(statuses('/api/v1/connections', 'get')).toContain('200');
      expect(statuses('/api/v1/connections/{id}', 'get')).toContain('404');
      expect(statuses('/api/v1/connections/{id}', 'delete')).toContain('200');
      expect(statuses('/api/v1/connections/{id}/credentials', 'put')).toContain('400');
      expect(statuses('/api/v1/connections/{id}/token', 'get')).toEqual(
        expect.arrayContaining(['200', '403', '404', '409']) as string[],
      );
    });

    it('no API key and no stored secret appeared in any answer or log line', () => {
      expect(answers.length).toBeGreaterThan(50);
      expect(logs.lines().length).toBeGreaterThan(50);
      const everything = `${answers.join('\n')}\n${logs.text}`;
      for (const secret of [
        keys.alpha,
        keys.beta,
        keys.revoked,
        keys.tokenReader,
        ACME_KEY,
        BASIC_PASSWORD,
        REFRESH_TOKEN,
        CLIENT_SECRET,
      ])
        expect(everything.includes(secret), secret.slice(0, 8)).toBe(false);
      // The access token only where it was asked for, by a key allowed to: not in any recorded answer.
      expect(everything.includes(ACCESS_TOKEN)).toBe(false);
    });
  });
}
