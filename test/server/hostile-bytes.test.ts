import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFRESH_WINDOW_MS } from '../../src/core/auth/refresh-protocol.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import type { ApiAnswer } from './helpers.js';
import { LogCapture, callApi } from './helpers.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * Bytes PostgreSQL cannot hold, and values it cannot store, replayed against the real app on
 * the real store (PGlite, and PostgreSQL where it exists): a NUL in every kind of input that
 * reaches a query (a filter, a path id, an OAuth body, the unauthenticated callback's state, an
 * MCP tool argument, a page cursor), a cursor or an expiry whose date PostgreSQL refuses, and a
 * provider (a real OAuth server on 127.0.0.1) whose token answer holds an unusable expiry or a
 * scope with a NUL. Each was a 500; each is now refused at the edge: a 4xx in the envelope, or
 * the provider's fault, a 502 `upstream`. No answer ever quotes the database.
 */

const TESTAPP = `name: testapp
display_name: Test App
version: 1
docs_url: https://example.com/docs
description: A connector signed in through the test authorization server.
hosts:
  api: https://api.example.com
auth:
  type: oauth2
  authorization_url: https://auth.example.com/authorize
  token_url: https://auth.example.com/token
  scopes: [files.read]
  client_auth: post
  client_secret: required
  app_registration_url: https://example.com/apps
endpoints:
  me:
    summary: Who am I.
    method: GET
    path: /me
`;

/** The app's own redirect URI (POST /oauth/callback is for apps that receive the code). */
const APP_CALLBACK = 'http://127.0.0.1/app/callback';

const cursorOf = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** What no answer may contain: words of SQL and of the database's errors. */
const DATABASE_WORDS =
  /select |insert |update |delete from|where |"connections"|"oauth_sessions"|invalid byte sequence|out of range|22021|22008|drizzle|pglite/i;

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`bad bytes on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let store: OpenedServerStore;
    let oauth: TestAuthServer;
    let base: string;
    let key = '';
    let projectId = '';
    let connectionId = '';
    const logs = new LogCapture();
    /** testapp's API: refuses every token, so each call through it asks for a refresh. */
    const api = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
    });
    /** The next token answer of the OAuth server is changed by this, once. */
    let tamper: ((body: Record<string, unknown>) => void) | undefined;
    /** The server's clock, moved on past the refresh window where a test needs a refresh. */
    let clockOffset = 0;

    beforeAll(async () => {
      oauth = await startAuthServer();
      api.listen(0, '127.0.0.1');
      await once(api, 'listening');
      oauth.server.service.on('beforeResponse', (response: { body: Record<string, unknown> }) => {
        const change = tamper;
        tamper = undefined;
        change?.(response.body);
      });
      daemon = await withServer({
        backend: variant,
        connectors: { testapp: TESTAPP },
        env: {
          ...oauth.envFor('testapp'),
          TESTAPP_CLIENT_ID: 'testapp-client',
          TESTAPP_CLIENT_SECRET: 'testapp-client-SECRET',
          CONNECTR_TESTAPP_API_BASE_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
        },
        now: () => Date.now() + clockOffset,
        logs,
        listen: true,
      });
      ({ store, base } = daemon);
      projectId = await daemon.project('default');
      key = await daemon.key(projectId, { name: 'a' });
      connectionId = await daemon.connection(projectId, { connector: 'testapp', name: 'testapp of someone' });
    }, 60_000);

    afterAll(async () => {
      await daemon.close();
      await oauth.stop();
      api.close();
    });

    /** A refusal of the caller's input: a 4xx, in the envelope, quoting no database text. */
    function refused(answer: ApiAnswer, what: string): void {
      // Soft: every case is replayed and reported, not only the first that fails.
      expect.soft(answer.status, `${what}: ${answer.text}`).toBeGreaterThanOrEqual(400);
      expect.soft(answer.status, `${what}: ${answer.text}`).toBeLessThan(500);
      expect.soft(answer.headers.get('x-connectr-error'), what).toBe('1');
      expect
        .soft((answer.json.error as { code?: unknown } | undefined)?.code, what)
        .toEqual(expect.any(String));
      expect.soft(answer.text, what).not.toMatch(DATABASE_WORDS);
      expect.soft(answer.text, what).not.toContain(projectId);
      // Refused at the edge, naming the field: not found out by the database.
      const details = (answer.json.error as { details?: { field?: string }[] } | undefined)?.details ?? [];
      expect.soft(details.map((d) => d.field).filter(Boolean), `${what}: ${answer.text}`).not.toEqual([]);
    }

    const NUL = '\u0000';

    it('a NUL in a filter, a path id, an OAuth body or the callback state: a 4xx', async () => {
      const cases: [string, () => Promise<ApiAnswer>][] = [
        [
          'list connector_type',
          () => callApi(base, 'GET', '/api/v1/connections?connector_type=gm%00ail', key),
        ],
        ['list user_id', () => callApi(base, 'GET', '/api/v1/connections?user_id=a%00b', key)],
        [
          'raw proxy connection id',
          () => callApi(base, 'GET', '/api/v1/connections/conn_a%00b/proxy/me', key),
        ],
        [
          'authorize connection_id',
          () => callApi(base, 'POST', '/api/v1/oauth/authorize', key, { connection_id: `conn_${NUL}x` }),
        ],
        [
          'authorize connector_type',
          () => callApi(base, 'POST', '/api/v1/oauth/authorize', key, { connector_type: `testapp${NUL}` }),
        ],
        [
          'callback connection_id',
          () =>
            callApi(base, 'POST', '/api/v1/oauth/callback', key, {
              connection_id: `conn_${NUL}`,
              code: 'c',
              redirect_uri: APP_CALLBACK,
              state: 's',
            }),
        ],
        [
          'callback state',
          () =>
            callApi(base, 'POST', '/api/v1/oauth/callback', key, {
              connection_id: connectionId,
              code: 'c',
              redirect_uri: APP_CALLBACK,
              state: `s${NUL}`,
            }),
        ],
        [
          'unauthenticated callback state',
          () => callApi(base, 'GET', '/api/v1/oauth/callback?state=%00', undefined),
        ],
        [
          'a cursor holding a NUL',
          () =>
            callApi(
              base,
              'GET',
              `/api/v1/connections?cursor=${cursorOf(['2026-01-01T00:00:00.000Z', `conn_${NUL}`])}`,
              key,
            ),
        ],
        [
          'a cursor holding a date out of range',
          () =>
            callApi(
              base,
              'GET',
              `/api/v1/connections?cursor=${cursorOf(['+275760-09-13T00:00:00.000Z', 'conn_a'])}`,
              key,
            ),
        ],
        [
          'a cursor of year 0',
          () =>
            callApi(
              base,
              'GET',
              `/api/v1/connections?cursor=${cursorOf(['0000-01-01T00:00:00.000Z', 'conn_a'])}`,
              key,
            ),
        ],
        [
          'expires_at of year 0',
          () =>
            callApi(base, 'PUT', `/api/v1/connections/${connectionId}/credentials`, key, {
              access_token: 'at',
              expires_at: '0000-01-01T00:00:00Z',
            }),
        ],
      ];
      for (const [what, send] of cases) refused(await send(), what);
    });

    async function post(message: unknown): Promise<ApiAnswer> {
      const response = await fetch(`${base}/mcp`, {
        method: 'POST',
        headers: {
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
          authorization: `Bearer ${key}`,
        },
        body: JSON.stringify(message),
      });
      const text = await response.text();
      return {
        status: response.status,
        text,
        json: JSON.parse(text) as Record<string, unknown>,
        headers: response.headers,
      };
    }

    it('an MCP tool argument holding a NUL: a tool error in connectr’s words, no database text', async () => {
      const answer = await post({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'testapp_me', arguments: { connection_id: `conn_${NUL}x` } },
      });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.text).not.toMatch(DATABASE_WORDS);
      expect(answer.text).not.toContain(projectId);
      expect(answer.json).toMatchObject({ id: 7, result: { isError: true } });
      expect(answer.text).toContain('connection_id');
    });

    /** A sign-in through the real OAuth server, whose token answer `change` spoils; the callback's answer. */
    async function signInWith(change: (body: Record<string, unknown>) => void): Promise<ApiAnswer> {
      const started = await callApi(base, 'POST', '/api/v1/oauth/authorize', key, {
        connection_id: connectionId,
        redirect_uri: APP_CALLBACK,
      });
      expect(started.status, started.text).toBe(200);
      const authorize = await fetch(String(started.json.authorization_url), { redirect: 'manual' });
      const back = new URL(authorize.headers.get('location') ?? '');
      tamper = change;
      try {
        return await callApi(base, 'POST', '/api/v1/oauth/callback', key, {
          connection_id: connectionId,
          code: back.searchParams.get('code'),
          redirect_uri: APP_CALLBACK,
          state: back.searchParams.get('state'),
        });
      } finally {
        tamper = undefined;
      }
    }

    it('a provider answering expires_in 1e15 or a scope holding a NUL: a 502 upstream naming the field', async () => {
      const spoiled: [string, (body: Record<string, unknown>) => void][] = [
        ['expires_in', (body) => (body.expires_in = 1e15)],
        ['scope', (body) => (body.scope = `files.read${NUL}admin`)],
      ];
      for (const [field, change] of spoiled) {
        const answer = await signInWith(change);
        expect(answer.status, `${field}: ${answer.text}`).toBe(502);
        expect(answer.json).toMatchObject({ error: { code: 'upstream' } });
        expect((answer.json.error as { message: string }).message).toContain(field);
        expect(answer.text).not.toMatch(DATABASE_WORDS);
      }
      // A sound answer still signs in: the checks refuse only what cannot be stored.
      const fine = await signInWith(() => undefined);
      expect(fine.status, fine.text).toBe(200);
      expect(fine.json).toMatchObject({ status: 'active', connection_id: connectionId });
    });

    it('a refresh: an unusable provider answer is a 502, a database fault during it is not quoted', async () => {
      // The connection was signed in above (a refresh token from the provider); the API
      // refuses its token, so execute asks for a refresh once the token is older than the
      // refresh window (a token refused moments after it was obtained is not refreshed again).
      clockOffset += 2 * REFRESH_WINDOW_MS;
      const execute = (): Promise<ApiAnswer> =>
        callApi(base, 'POST', '/api/v1/proxy/execute', key, { connection_id: connectionId, endpoint: 'me' });
      tamper = (body) => (body.expires_in = 1e15);
      const spoiled = await execute();
      expect(spoiled.status, spoiled.text).toBe(502);
      expect(spoiled.json).toMatchObject({ error: { code: 'upstream' } });
      expect((spoiled.json.error as { message: string }).message).toContain('expires_in');
      // The refreshed tokens cannot be written (a constraint the store does not know of): the
      // answer says the refresh failed, never the statement, its values (the sealed tokens, the
      // project's id) or the database's words.
      await store.db.execute(
        sql`alter table connections add constraint no_refresh check (last_refresh_at is null) not valid`,
      );
      try {
        const faulty = await execute();
        expect(faulty.status, faulty.text).toBeGreaterThanOrEqual(500);
        expect(faulty.text).toContain('refresh');
        expect(faulty.text).not.toMatch(DATABASE_WORDS);
        expect(faulty.text).not.toContain('no_refresh');
        expect(faulty.text).not.toContain(projectId);
        // The operator still finds the cause, under the request id.
        const id = faulty.headers.get('x-request-id');
        expect(
          logs.lines().some((line) => line.reqId === id && JSON.stringify(line).includes('no_refresh')),
        ).toBe(true);
      } finally {
        await store.db.execute(sql`alter table connections drop constraint no_refresh`);
      }
    });

    it('a database error no check foresaw: a generic internal error naming the request, the text logged only', async () => {
      // A fault of the database itself (a column gone), hit by a valid request: a 500 on REST,
      // -32603 on MCP, each saying only where the log has it.
      await store.db.execute(sql`alter table connections rename column name to name_gone`);
      try {
        const rest = await callApi(base, 'GET', '/api/v1/connections/conn_abcdefgh', key);
        expect(rest.status, rest.text).toBe(500);
        const id = rest.headers.get('x-request-id') ?? '';
        expect(id).not.toBe('');
        expect(rest.json).toMatchObject({ error: { code: 'internal' } });
        expect(rest.text).toContain(id);
        const mcp = await post({
          jsonrpc: '2.0',
          id: 8,
          method: 'tools/call',
          params: { name: 'testapp_me', arguments: { connection_id: 'conn_abcdefgh' } },
        });
        expect(mcp.json).toMatchObject({ id: 8, error: { code: -32603 } });
        expect(mcp.text).toMatch(/internal error \(request [^)]+\); the server log has the details/);
        for (const text of [rest.text, mcp.text]) {
          expect(text).not.toMatch(DATABASE_WORDS);
          expect(text).not.toContain('name_gone');
          expect(text).not.toContain(projectId);
        }
        // The operator finds the cause under the request id.
        expect(logs.text).toContain('name');
        expect(logs.lines().some((line) => line.reqId === id && line.msg === 'request failed')).toBe(true);
      } finally {
        await store.db.execute(sql`alter table connections rename column name_gone to name`);
      }
    });
  });
}
