import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import type { OAuthSecret } from '../../src/server/oauth/flow.js';
import type { App } from '../../src/server/types.js';
import { createConnection, getConnection, listConnections } from '../../src/server/store/connections.js';
import type { Connection } from '../../src/server/store/connections.js';
import { getCredential } from '../../src/server/store/credentials.js';
import { createOAuthSession } from '../../src/server/store/oauth-sessions.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { credentials } from '../../src/server/store/schema.js';
import { BROWSER_CLIENTS, browse, startOidcServer } from '../helpers/oidc-server.js';
import type { OidcServer } from '../helpers/oidc-server.js';
import { BACKENDS, CacheClock, variantTitle } from '../helpers/server-store.js';

/** Moves the caches on after a change made straight in the database (as another instance would). */
const clock = new CacheClock();
import { LogCapture, callApi } from './helpers.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

/**
 * The OAuth web flow of `connectr serve` against a real, strict authorization server
 * (oidc-provider on 127.0.0.1: PKCE required, redirect URIs checked, codes single-use), with the
 * app listening on a real socket and the real store, on PGlite and on PostgreSQL. The browser is
 * played by `browse` (sign-in and consent forms, redirects), which stops where the provider sends
 * it back; the test then opens that address on the server as the browser would.
 */

const CALLBACK = '/api/v1/oauth/callback';
/** The app's own redirect URI in the old system's flow (registered with the provider). */
const LEGACY = '/legacy/callback';
const [CLIENT, SAVED] = BROWSER_CLIENTS;
if (!CLIENT || !SAVED) throw new Error('the OIDC helper has no browser clients');

/** A connector whose OAuth URLs point nowhere until the environment overrides them. */
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
  scopes: [openid, files.read]
  authorization_params:
    prompt: consent
  client_auth: post
  client_secret: required
  app_registration_url: https://example.com/apps
endpoints:
  me:
    summary: Who am I.
    method: GET
    path: /me
`;

/** The same without any app configured anywhere. */
const NOAPP = TESTAPP.replace('name: testapp', 'name: noapp');

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown>;
  readonly location: string | null;
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`OAuth web flow on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let store: OpenedServerStore;
    let oidc: OidcServer;
    let base: string;
    let upstream: Server;
    /** What testapp's API received: method, path and Authorization. */
    const upstreamSaw: string[] = [];
    let keyA: string;
    let keyB: string;
    let projectA: string;
    let projectB: string;
    const logs = new LogCapture();
    /** Every answer body the server gave, to search for secrets at the end. */
    const answers: string[] = [];
    /** Every token the provider issued, and the access tokens alone, in order. */
    const issued: string[] = [];
    const accessTokens: string[] = [];

    beforeAll(async () => {
      // testapp's API: answers /me for the access tokens the provider issued, 401 otherwise.
      upstream = createServer((req, res) => {
        upstreamSaw.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers.authorization ?? ''}`);
        const ok = accessTokens.some((t) => req.headers.authorization === `Bearer ${t}`);
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(ok ? '{"me":"alice"}' : '{"error":"invalid_token"}');
      });
      upstream.listen(0, '127.0.0.1');
      await once(upstream, 'listening');
      oidc = await startOidcServer({
        redirectUris: [
          `http://127.0.0.1${CALLBACK}`,
          'http://127.0.0.1/app/callback',
          `http://127.0.0.1${LEGACY}`,
        ],
      });
      daemon = await withServer({
        backend: variant,
        connectors: { testapp: TESTAPP, noapp: NOAPP },
        env: {
          ...oidc.envFor('testapp'),
          ...oidc.envFor('noapp'),
          TESTAPP_CLIENT_ID: CLIENT.id,
          TESTAPP_CLIENT_SECRET: CLIENT.secret,
          CONNECTR_TESTAPP_API_BASE_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
        },
        cacheNow: clock.now,
        logs,
        logLevel: 'trace',
        listen: true,
      });
      ({ store, base } = daemon);
      projectA = await daemon.project('default');
      projectB = await daemon.project('other');
      keyA = await daemon.key(projectA, { name: 'a' });
      keyB = await daemon.key(projectB, { name: 'b' });
      // Project B has its own app for testapp; project A uses the server's environment.
      await daemon.oauthApp(projectB, 'testapp', SAVED.id, SAVED.secret);
    }, 60_000);

    afterAll(async () => {
      upstream.close();
      await daemon.close();
      await oidc.stop();
    });

    async function call(
      method: string,
      path: string,
      key: string | undefined,
      body?: unknown,
    ): Promise<Answer> {
      const answer = await callApi(base, method, path, key, body);
      const location = answer.headers.get('location');
      answers.push(answer.text, location ?? '');
      return { ...answer, location };
    }

    /** The browser at the provider: signs in as `login`, consents; where it is sent back to. */
    async function approve(
      authorizationUrl: string,
      login: string,
      stopAt = `${base}${CALLBACK}`,
    ): Promise<URL> {
      oidc.onceTokenResponse((response) => {
        for (const name of ['access_token', 'refresh_token', 'id_token']) {
          const value = response.body[name];
          if (typeof value === 'string') issued.push(value);
        }
        if (typeof response.body.access_token === 'string') accessTokens.push(response.body.access_token);
      });
      const { stoppedAt } = await browse(authorizationUrl, login, stopAt);
      expect(stoppedAt.startsWith(stopAt), stoppedAt).toBe(true);
      return new URL(stoppedAt);
    }

    const newConnection = (projectId: string, connector = 'testapp'): Promise<Connection> =>
      createConnection(store.db, { projectId, connector, name: `${connector} of someone` });

    async function authorize(key: string, body: Record<string, unknown>): Promise<Answer> {
      const answer = await call('POST', '/api/v1/oauth/authorize', key, body);
      return answer;
    }

    /** The ids of a project's connections. */
    const connectionsOf = async (projectId: string): Promise<string[]> =>
      (await listConnections(store.db, projectId, { limit: 200 })).items.map((c) => c.id);

    const credentialOf = (projectId: string, id: string) =>
      getCredential<OAuthSecret>(store.db, store.keys, projectId, id);

    let firstCallback: URL;
    let first: Connection;

    it('signs a connection in through the browser: PKCE S256, tokens sealed, connection active', async () => {
      first = await newConnection(projectA);
      const started = await authorize(keyA, { connection_id: first.id });
      expect(started.status, started.text).toBe(200);
      // Without --public-url: the address the server listens on.
      expect(started.json.redirect_uri).toBe(`${base}${CALLBACK}`);
      const url = new URL(String(started.json.authorization_url));
      expect(url.origin).toBe(oidc.issuer);
      expect(url.searchParams.get('client_id')).toBe(CLIENT.id);
      expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(url.searchParams.get('scope')).toBe('openid files.read');
      expect(url.searchParams.get('prompt')).toBe('consent');
      expect(url.searchParams.get('state')).toBe(started.json.state);

      firstCallback = await approve(url.toString(), 'alice');
      const page = await call('GET', `${firstCallback.pathname}${firstCallback.search}`, undefined);
      expect(page.status, page.text).toBe(200);
      expect(page.text).toContain('Signed in');
      expect(page.text).toContain('alice');

      const tokenRequest = oidc.tokenRequests.at(-1);
      expect(tokenRequest?.grant_type).toBe('authorization_code');
      expect(tokenRequest?.redirect_uri).toBe(`${base}${CALLBACK}`);
      expect(tokenRequest?.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const stored = await credentialOf(projectA, first.id);
      expect(stored?.secret.access_token).toBe(accessTokens[0]);
      expect(stored?.secret.refresh_token).toBeTruthy();
      expect(stored?.secret.scopes).toEqual(expect.arrayContaining(['openid', 'files.read']));
      expect(stored?.expiresAt?.getTime()).toBeGreaterThan(Date.now());
      // At rest: a ciphertext, not the token.
      const [row] = await store.db
        .select({ secret: credentials.secretEncrypted })
        .from(credentials)
        .where(eq(credentials.connectionId, first.id));
      expect(row?.secret).toBeTruthy();
      expect(row?.secret).not.toContain(accessTokens[0]);

      const connection = await getConnection(store.db, projectA, first.id);
      expect(connection?.status).toBe('active');
      expect(connection?.accountIdentity).toBe('alice');
      expect(connection?.scopes).toEqual(expect.arrayContaining(['openid', 'files.read']));
      expect(connection?.lastRefreshAt).toBeInstanceOf(Date);
      expect(connection?.lastError).toBeNull();
    });

    it("calls the API with the sign-in's token through execute, and refreshes it at the provider when it expires", async () => {
      const execute = (): Promise<Answer> =>
        call('POST', '/api/v1/proxy/execute', keyA, { connection_id: first.id, endpoint: 'me' });
      const answer = await execute();
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json).toMatchObject({ status: 200, body: { me: 'alice' } });
      expect(upstreamSaw.at(-1)).toBe(`GET /me Bearer ${accessTokens[0] ?? ''}`);

      // Expired: the next call refreshes at the (strict) provider first, with the stored
      // refresh token and the client's credentials, and calls with the new token.
      const before = await credentialOf(projectA, first.id);
      await store.db
        .update(credentials)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(credentials.connectionId, first.id));
      clock.pass();
      const tokensBefore = oidc.tokenRequests.length;
      oidc.onceTokenResponse((response) => {
        for (const name of ['access_token', 'refresh_token', 'id_token']) {
          const value = response.body[name];
          if (typeof value === 'string') issued.push(value);
        }
        if (typeof response.body.access_token === 'string') accessTokens.push(response.body.access_token);
      });
      const refreshed = await execute();
      expect(refreshed.json).toMatchObject({ status: 200, body: { me: 'alice' } });
      expect(oidc.tokenRequests.slice(tokensBefore).map((r) => [r.grant_type, r.refresh_token])).toEqual([
        ['refresh_token', before?.secret.refresh_token],
      ]);
      const after = await credentialOf(projectA, first.id);
      expect(after?.secret.access_token).toBe(accessTokens.at(-1));
      expect(after?.secret.access_token).not.toBe(before?.secret.access_token);
      expect(after?.expiresAt?.getTime()).toBeGreaterThan(Date.now());
      expect(upstreamSaw.at(-1)).toBe(`GET /me Bearer ${accessTokens.at(-1) ?? ''}`);
    });

    it('refuses a state used once already: a 400 page, no second token request, nothing stored', async () => {
      const before = oidc.tokenRequests.length;
      const stored = await credentialOf(projectA, first.id);
      const again = await call('GET', `${firstCallback.pathname}${firstCallback.search}`, undefined);
      expect(again.status).toBe(400);
      expect(again.text).toContain('already used');
      expect(again.text).not.toContain(firstCallback.searchParams.get('code'));
      expect(again.text).not.toContain(firstCallback.searchParams.get('state'));
      expect(oidc.tokenRequests.length).toBe(before);
      expect((await credentialOf(projectA, first.id))?.updatedAt).toEqual(stored?.updatedAt);
    });

    it('refuses an expired or unknown state with a 400 page', async () => {
      const connection = await newConnection(projectA);
      const session = await createOAuthSession(store.db, store.keys, {
        projectId: projectA,
        connectionId: connection.id,
        codeVerifier: 'v'.repeat(43),
        redirectUri: `${base}${CALLBACK}`,
        ttlMs: -1000,
      });
      const before = oidc.tokenRequests.length;
      const expired = await call('GET', `${CALLBACK}?code=abc&state=${session.state}`, undefined);
      expect(expired.status).toBe(400);
      expect(expired.text).toContain('expired');
      const unknown = await call('GET', `${CALLBACK}?code=abc&state=nosuchstate`, undefined);
      expect(unknown.status).toBe(400);
      expect(unknown.text).toContain('unknown state');
      const none = await call('GET', `${CALLBACK}?code=abc`, undefined);
      expect(none.status).toBe(400);
      expect(oidc.tokenRequests.length).toBe(before);
      expect(await credentialOf(projectA, connection.id)).toBeUndefined();
    });

    it("shows the provider's refusal escaped, records it, and burns the state", async () => {
      const connection = await newConnection(projectA);
      const started = await authorize(keyA, { connection_id: connection.id });
      const state = String(started.json.state);
      const description = '<script>alert(1)</script> the user said no';
      const refused = await call(
        'GET',
        `${CALLBACK}?error=access_denied&error_description=${encodeURIComponent(description)}&state=${state}`,
        undefined,
      );
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('not approved');
      expect(refused.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; the user said no');
      expect(refused.text).not.toContain('<script>');
      const after = await getConnection(store.db, projectA, connection.id);
      expect(after?.status).toBe('pending');
      expect(after?.lastError).toContain('access_denied');
      const reused = await call('GET', `${CALLBACK}?code=abc&state=${state}`, undefined);
      expect(reused.status).toBe(400);
      expect(reused.text).toContain('already used');
    });

    it('records a refused code exchange as last_error and shows the error page', async () => {
      const connection = await newConnection(projectA);
      const started = await authorize(keyA, { connection_id: connection.id });
      const page = await call(
        'GET',
        `${CALLBACK}?code=not-a-real-code&state=${String(started.json.state)}`,
        undefined,
      );
      expect(page.status).toBe(400);
      expect(page.text).toContain('invalid_grant');
      expect(page.text).not.toContain('not-a-real-code');
      const after = await getConnection(store.db, projectA, connection.id);
      expect(after?.status).toBe('pending');
      expect(after?.lastError).toContain('invalid_grant');
      expect(await credentialOf(projectA, connection.id)).toBeUndefined();
    });

    it('sends the browser on to return_url', async () => {
      const connection = await newConnection(projectA);
      const returnUrl = 'https://app.example.com/connected?id=7';
      const started = await authorize(keyA, { connection_id: connection.id, return_url: returnUrl });
      expect(started.status, started.text).toBe(200);
      const back = await approve(String(started.json.authorization_url), 'bob');
      // A HEAD (a link preview, a prefetch) does not use the sign-in up.
      const head = await call('HEAD', `${back.pathname}${back.search}`, undefined);
      expect(head.status).toBeGreaterThanOrEqual(400);
      const answer = await call('GET', `${back.pathname}${back.search}`, undefined);
      expect(answer.status).toBe(302);
      expect(answer.location).toBe(`${returnUrl}&connection_id=${connection.id}&status=connected`);
      expect((await getConnection(store.db, projectA, connection.id))?.accountIdentity).toBe('bob');
    });

    describe('returns the browser to return_url with the outcome, always', () => {
      const startWith = async (returnUrl: string, body: Record<string, unknown> = {}) => {
        const connection = await newConnection(projectA);
        const started = await authorize(keyA, {
          connection_id: connection.id,
          return_url: returnUrl,
          ...body,
        });
        expect(started.status, started.text).toBe(200);
        return { connection, state: String(started.json.state), url: String(started.json.authorization_url) };
      };

      it("passes a refusal at the provider on as its RFC 6749 code, after the app's query and before its fragment", async () => {
        const { connection, state } = await startWith('https://app.example.com/back?x=1&y=a%20b#/done?z=2');
        const refused = await call(
          'GET',
          `${CALLBACK}?error=access_denied&error_description=${encodeURIComponent('go <away>')}&state=${state}`,
          undefined,
        );
        expect(refused.status).toBe(302);
        expect(refused.location).toBe(
          `https://app.example.com/back?x=1&y=a%20b&connection_id=${connection.id}&status=error&error=access_denied#/done?z=2`,
        );
        // Recorded on the connection as before.
        expect((await getConnection(store.db, projectA, connection.id))?.lastError).toContain(
          'access_denied',
        );
        // Used once: the same address again goes back with already_used.
        const again = await call('GET', `${CALLBACK}?error=access_denied&state=${state}`, undefined);
        expect(again.location).toBe(
          `https://app.example.com/back?x=1&y=a%20b&connection_id=${connection.id}&status=error&error=already_used#/done?z=2`,
        );
      });

      it("says provider_error for an error that is not a standard code, and never passes the provider's text on", async () => {
        const { state } = await startWith('https://app.example.com/back');
        const refused = await call(
          'GET',
          `${CALLBACK}?error=${encodeURIComponent('<b>evil</b>&status=connected')}&error_description=phish&state=${state}`,
          undefined,
        );
        const location = new URL(refused.location ?? '');
        expect(location.searchParams.getAll('status')).toEqual(['error']);
        expect(location.searchParams.getAll('error')).toEqual(['provider_error']);
        expect(refused.location).not.toContain('evil');
        expect(refused.location).not.toContain('phish');
      });

      it('says exchange_failed when the code is refused, without the code or the state in the URL', async () => {
        const { connection, state } = await startWith('https://app.example.com/back');
        const failed = await call('GET', `${CALLBACK}?code=not-a-real-code&state=${state}`, undefined);
        expect(failed.status).toBe(302);
        expect(failed.location).toBe(
          `https://app.example.com/back?connection_id=${connection.id}&status=error&error=exchange_failed`,
        );
        const missing = await startWith('https://app.example.com/back');
        const none = await call('GET', `${CALLBACK}?state=${missing.state}`, undefined);
        expect(new URL(none.location ?? '').searchParams.get('error')).toBe('missing_code');
      });

      it('says expired for a sign-in past its time', async () => {
        const connection = await newConnection(projectA);
        const session = await createOAuthSession(store.db, store.keys, {
          projectId: projectA,
          connectionId: connection.id,
          codeVerifier: 'v'.repeat(43),
          redirectUri: `${base}${CALLBACK}`,
          returnUrl: 'https://app.example.com/back',
          ttlMs: -1000,
        });
        const expired = await call('GET', `${CALLBACK}?code=abc&state=${session.state}`, undefined);
        expect(expired.location).toBe(
          `https://app.example.com/back?connection_id=${connection.id}&status=error&error=expired`,
        );
      });

      it("replaces the app's own status, error or connection_id parameters rather than adding a second one", async () => {
        const { connection, url } = await startWith(
          'https://app.example.com/back?status=connected&connection_id=conn_forged&st%61tus=x&error&keep=1',
        );
        const back = await approve(url, 'olivia');
        const done = await call('GET', `${back.pathname}${back.search}`, undefined);
        expect(done.location).toBe(
          `https://app.example.com/back?keep=1&connection_id=${connection.id}&status=connected`,
        );
      });

      it('gives the id of the connection a sign-in started with connector_type was completed into', async () => {
        const started = await authorize(keyA, {
          connector_type: 'testapp',
          return_url: 'https://app.example.com/back',
        });
        const back = await approve(String(started.json.authorization_url), 'peggy');
        const done = await call('GET', `${back.pathname}${back.search}`, undefined);
        const location = new URL(done.location ?? '');
        expect(location.searchParams.get('status')).toBe('connected');
        const made = await getConnection(
          store.db,
          projectA,
          location.searchParams.get('connection_id') ?? '-',
        );
        expect(made).toMatchObject({ connector: 'testapp', status: 'active', accountIdentity: 'peggy' });
        // A refused one has no connection to name.
        const refusedStart = await authorize(keyA, {
          connector_type: 'testapp',
          return_url: 'https://app.example.com/back',
        });
        const refused = await call(
          'GET',
          `${CALLBACK}?error=access_denied&state=${String(refusedStart.json.state)}`,
          undefined,
        );
        expect(refused.location).toBe('https://app.example.com/back?status=error&error=access_denied');
      });
    });

    it('sends connection.created and connection.signed_in of a browser sign-in to the webhooks, verified', async () => {
      const projectId = await daemon.project('hooks');
      const key = await daemon.key(projectId, { name: 'hooks' });
      const receiver = await startReceiver();
      try {
        const hook = await call('POST', '/api/v1/webhooks', key, { url: receiver.url });
        expect(hook.status).toBe(201);
        receiver.secrets.push(hook.json.secret as string);
        const started = await authorize(key, { connector_type: 'testapp' });
        const back = await approve(String(started.json.authorization_url), 'grace');
        const done = await call('GET', `${back.pathname}${back.search}`, undefined);
        expect(done.status, done.text).toBe(200);
        const [id] = await connectionsOf(projectId);
        const got = await receiver.waitFor((a) => a.length >= 2);
        expect(got.map((d) => [d.type, d.data.id])).toEqual([
          ['connection.created', id],
          ['connection.signed_in', id],
        ]);
        expect(got[1]?.data).toMatchObject({ status: 'active', account_identity: 'grace' });
        for (const d of receiver.requests) for (const token of issued) expect(d.body).not.toContain(token);
      } finally {
        await receiver.close();
      }
    });

    it('refuses return_url and redirect_uri that are not plain http(s) URLs, creating nothing', async () => {
      const connection = await newConnection(projectA);
      for (const body of [
        { return_url: 'javascript:alert(1)' },
        { return_url: 'https://app.example.com/x\r\nSet-Cookie: a=b' },
        { return_url: 'data:text/html,hi' },
        { return_url: '/relative' },
        { redirect_uri: 'ftp://example.com/cb' },
      ]) {
        const answer = await authorize(keyA, { connection_id: connection.id, ...body });
        expect(answer.status, JSON.stringify(body)).toBe(400);
        expect(answer.json.error).toMatchObject({ code: 'invalid_input' });
      }
    });

    it("answers 404 for another project's connection", async () => {
      const theirs = await newConnection(projectB);
      const answer = await authorize(keyA, { connection_id: theirs.id });
      expect(answer.status).toBe(404);
      const post = await call('POST', CALLBACK, keyA, {
        connection_id: theirs.id,
        code: 'x',
        redirect_uri: `${base}${CALLBACK}`,
      });
      expect(post.status).toBe(404);
    });

    it("uses the project's own OAuth app before the environment's", async () => {
      const connection = await newConnection(projectB);
      const started = await authorize(keyB, { connection_id: connection.id });
      expect(started.status, started.text).toBe(200);
      expect(new URL(String(started.json.authorization_url)).searchParams.get('client_id')).toBe(SAVED.id);
      const back = await approve(String(started.json.authorization_url), 'carol');
      const page = await call('GET', `${back.pathname}${back.search}`, undefined);
      expect(page.status, page.text).toBe(200);
      expect(oidc.tokenRequests.at(-1)?.client_id).toBe(SAVED.id);
      expect((await credentialOf(projectB, connection.id))?.secret.access_token).toBe(
        accessTokens.at(-1) ?? '-',
      );
    });

    it('says both ways to configure an app when there is none', async () => {
      const connection = await newConnection(projectA, 'noapp');
      const answer = await authorize(keyA, { connection_id: connection.id });
      expect(answer.status).toBe(400);
      const error = answer.json.error as { message: string; hint: string };
      expect(error.message).toContain('no OAuth app');
      expect(error.hint).toContain('NOAPP_CLIENT_ID');
      expect(error.hint).toContain('NOAPP_CLIENT_SECRET');
      expect(error.hint).toContain('PUT /api/v1/oauth-apps/noapp');
      // The old form creates no connection when the sign-in cannot start.
      const legacy = await authorize(keyA, { connector_type: 'noapp', redirect_uri: `${base}/app/callback` });
      expect(legacy.status).toBe(400);
    });

    it("accepts the old system's form {connector_type, redirect_uri}: a sign-in of no connection, no connection made", async () => {
      const before = await connectionsOf(projectA);
      const started = await authorize(keyA, {
        connector_type: 'testapp',
        redirect_uri: `${base}/app/callback`,
      });
      expect(started.status, started.text).toBe(200);
      expect(started.json.connection_id).toBeNull();
      expect(await connectionsOf(projectA)).toEqual(before);
      expect(new URL(String(started.json.authorization_url)).searchParams.get('redirect_uri')).toBe(
        `${base}/app/callback`,
      );
      const both = await authorize(keyA, { connector_type: 'testapp', connection_id: first.id });
      expect(both.status).toBe(400);
      const neither = await authorize(keyA, {});
      expect(neither.status).toBe(400);
      // Complete it so it is not left pending for the tests of the code-only form below.
      const mine = await newConnection(projectA);
      const back = await approve(String(started.json.authorization_url), 'dave', `${base}/app/callback`);
      const done = await call('POST', CALLBACK, keyA, {
        connection_id: mine.id,
        code: back.searchParams.get('code'),
        redirect_uri: `${base}/app/callback`,
        state: back.searchParams.get('state'),
      });
      expect(done.status, done.text).toBe(200);
      expect(done.json).toMatchObject({ connection_id: mine.id, status: 'active', account_identity: 'dave' });
    });

    it('completes a code-only flow with POST /oauth/callback, with state or with the one pending flow', async () => {
      const redirectUri = `${base}/app/callback`;
      const one = await newConnection(projectA);
      const two = await newConnection(projectA);
      const startedOne = await authorize(keyA, { connection_id: one.id, redirect_uri: redirectUri });
      const startedTwo = await authorize(keyA, { connection_id: two.id, redirect_uri: redirectUri });
      const backOne = await approve(String(startedOne.json.authorization_url), 'erin', redirectUri);
      const backTwo = await approve(String(startedTwo.json.authorization_url), 'frank', redirectUri);

      // Two pending: without state it cannot tell which flow the code belongs to.
      const ambiguous = await call('POST', CALLBACK, keyA, {
        connection_id: one.id,
        code: backOne.searchParams.get('code'),
        redirect_uri: redirectUri,
      });
      expect(ambiguous.status).toBe(400);
      expect(JSON.stringify(ambiguous.json)).toContain('state');

      const withState = await call('POST', CALLBACK, keyA, {
        connection_id: one.id,
        code: backOne.searchParams.get('code'),
        redirect_uri: redirectUri,
        state: backOne.searchParams.get('state'),
      });
      expect(withState.status, withState.text).toBe(200);
      expect(withState.json).toMatchObject({
        connection_id: one.id,
        status: 'active',
        account_identity: 'erin',
      });

      // Now exactly one is pending: the state may be left out.
      const without = await call('POST', CALLBACK, keyA, {
        connection_id: two.id,
        code: backTwo.searchParams.get('code'),
        redirect_uri: redirectUri,
      });
      expect(without.status, without.text).toBe(200);
      expect(without.json).toMatchObject({
        connection_id: two.id,
        status: 'active',
        account_identity: 'frank',
      });
      expect((await credentialOf(projectA, two.id))?.secret.access_token).toBe(accessTokens.at(-1) ?? '-');

      // Nothing pending any more.
      const nothing = await call('POST', CALLBACK, keyA, {
        connection_id: two.id,
        code: 'x',
        redirect_uri: redirectUri,
      });
      expect(nothing.status).toBe(400);
    });

    it('refuses a code handed over with another redirect_uri or for another connection', async () => {
      const redirectUri = `${base}/app/callback`;
      const mine = await newConnection(projectA);
      const other = await newConnection(projectA);
      const started = await authorize(keyA, { connection_id: mine.id, redirect_uri: redirectUri });
      const state = String(started.json.state);
      const before = oidc.tokenRequests.length;
      // Another connection's state is not found, and stays usable.
      const elsewhere = await call('POST', CALLBACK, keyA, {
        connection_id: other.id,
        code: 'x',
        redirect_uri: redirectUri,
        state,
      });
      expect(elsewhere.status).toBe(400);
      const wrongUri = await call('POST', CALLBACK, keyA, {
        connection_id: mine.id,
        code: 'x',
        redirect_uri: `${base}/elsewhere`,
        state,
      });
      expect(wrongUri.status).toBe(400);
      expect(JSON.stringify(wrongUri.json)).toContain('redirect_uri');
      expect(oidc.tokenRequests.length).toBe(before);
      expect(await credentialOf(projectA, mine.id)).toBeUndefined();
    });

    describe("the old system's flow, verbatim: create, authorize {connector_type, redirect_uri}, callback {connection_id, code, redirect_uri}", () => {
      const legacyUri = (): string => `${base}${LEGACY}`;
      const start = async (key: string, connector = 'testapp'): Promise<Answer> => {
        const started = await authorize(key, { connector_type: connector, redirect_uri: legacyUri() });
        expect(started.status, started.text).toBe(200);
        expect(started.json.connection_id).toBeNull();
        return started;
      };
      const complete = (key: string, body: Record<string, unknown>): Promise<Answer> =>
        call('POST', CALLBACK, key, { redirect_uri: legacyUri(), ...body });

      it('completes into the connection the app made, with the PKCE verifier of the sign-in; no other connection; once', async () => {
        const mine = await newConnection(projectA);
        const before = await connectionsOf(projectA);
        const started = await start(keyA);
        expect(await connectionsOf(projectA)).toEqual(before);
        const back = await approve(String(started.json.authorization_url), 'grace', legacyUri());
        const code = back.searchParams.get('code');
        const tokensBefore = oidc.tokenRequests.length;
        const done = await complete(keyA, { connection_id: mine.id, code });
        expect(done.status, done.text).toBe(200);
        expect(done.json).toMatchObject({
          connection_id: mine.id,
          status: 'active',
          account_identity: 'grace',
        });
        // The provider requires PKCE: the exchange sent the sign-in's verifier.
        expect(oidc.tokenRequests.slice(tokensBefore).map((r) => r.grant_type)).toEqual([
          'authorization_code',
        ]);
        expect(oidc.tokenRequests.at(-1)?.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(await connectionsOf(projectA)).toEqual(before);
        const executed = await call('POST', '/api/v1/proxy/execute', keyA, {
          connection_id: mine.id,
          endpoint: 'me',
        });
        expect(executed.json).toMatchObject({ status: 200, body: { me: 'alice' } });
        expect(upstreamSaw.at(-1)).toBe(`GET /me Bearer ${accessTokens.at(-1) ?? ''}`);
        // Used once: the same completion again finds nothing pending, with or without the state.
        const again = await complete(keyA, { connection_id: mine.id, code });
        expect(again.status).toBe(400);
        const replay = await complete(keyA, {
          connection_id: mine.id,
          code,
          state: back.searchParams.get('state'),
        });
        expect(replay.status).toBe(400);
        expect(JSON.stringify(replay.json)).toContain('already used');
        expect(oidc.tokenRequests.length).toBe(tokensBefore + 1);
      });

      it('refuses a connection of another connector, naming both, and leaves the sign-in usable', async () => {
        const started = await start(keyA);
        const wrong = await newConnection(projectA, 'noapp');
        const back = await approve(String(started.json.authorization_url), 'heidi', legacyUri());
        const code = back.searchParams.get('code');
        const tokensBefore = oidc.tokenRequests.length;
        for (const state of [undefined, back.searchParams.get('state')]) {
          const refused = await complete(keyA, {
            connection_id: wrong.id,
            code,
            ...(state ? { state } : {}),
          });
          expect(refused.status, refused.text).toBe(400);
          expect(refused.json.error).toMatchObject({
            code: 'invalid_input',
            details: [expect.objectContaining({ field: 'body.connection_id' })],
          });
          expect(JSON.stringify(refused.json)).toContain('testapp');
          expect(JSON.stringify(refused.json)).toContain('noapp');
        }
        expect(oidc.tokenRequests.length).toBe(tokensBefore);
        const right = await newConnection(projectA);
        const done = await complete(keyA, { connection_id: right.id, code });
        expect(done.status, done.text).toBe(200);
        expect(await credentialOf(projectA, wrong.id)).toBeUndefined();
      });

      it("never finds another project's sign-in", async () => {
        const started = await start(keyA);
        const theirs = await newConnection(projectB);
        const back = await approve(String(started.json.authorization_url), 'ivan', legacyUri());
        const code = back.searchParams.get('code');
        const state = back.searchParams.get('state');
        const tokensBefore = oidc.tokenRequests.length;
        const without = await complete(keyB, { connection_id: theirs.id, code });
        expect(without.status).toBe(400);
        expect(JSON.stringify(without.json)).toContain('no sign-in');
        const withState = await complete(keyB, { connection_id: theirs.id, code, state });
        expect(withState.status).toBe(400);
        expect(JSON.stringify(withState.json)).toContain('unknown state');
        expect(oidc.tokenRequests.length).toBe(tokensBefore);
        expect(await credentialOf(projectB, theirs.id)).toBeUndefined();
        const mine = await newConnection(projectA);
        expect((await complete(keyA, { connection_id: mine.id, code })).status).toBe(200);
      });

      it("asks for the state when two sign-ins are pending, or the one pending is another connection's", async () => {
        const mine = await newConnection(projectA);
        const one = await start(keyA);
        const two = await start(keyA);
        const backOne = await approve(String(one.json.authorization_url), 'judy', legacyUri());
        const ambiguous = await complete(keyA, {
          connection_id: mine.id,
          code: backOne.searchParams.get('code'),
        });
        expect(ambiguous.status).toBe(400);
        expect(JSON.stringify(ambiguous.json)).toContain('state');
        const done = await complete(keyA, {
          connection_id: mine.id,
          code: backOne.searchParams.get('code'),
          state: backOne.searchParams.get('state'),
        });
        expect(done.status, done.text).toBe(200);
        // The other one, completed into a connection by its state, is bound to it now.
        const other = await newConnection(projectA);
        const backTwo = await approve(String(two.json.authorization_url), 'ken', legacyUri());
        const bound = await complete(keyA, {
          connection_id: other.id,
          code: backTwo.searchParams.get('code'),
          state: backTwo.searchParams.get('state'),
        });
        expect(bound.status, bound.text).toBe(200);
        // A connection's own pending sign-in is another connection's to any other.
        const third = await authorize(keyA, { connection_id: other.id, redirect_uri: legacyUri() });
        const backThird = await approve(String(third.json.authorization_url), 'ken', legacyUri());
        const notYours = await complete(keyA, {
          connection_id: mine.id,
          code: backThird.searchParams.get('code'),
        });
        expect(notYours.status).toBe(400);
        expect(JSON.stringify(notYours.json)).toContain('state');
        const yours = await complete(keyA, {
          connection_id: other.id,
          code: backThird.searchParams.get('code'),
        });
        expect(yours.status, yours.text).toBe(200);
      });

      it('lets one of two completions racing for the same sign-in exchange its code', async () => {
        const mine = await newConnection(projectA);
        const started = await start(keyA);
        const back = await approve(String(started.json.authorization_url), 'leo', legacyUri());
        const code = back.searchParams.get('code');
        const tokensBefore = oidc.tokenRequests.length;
        const answers = await Promise.all(
          Array.from({ length: 4 }, () => complete(keyA, { connection_id: mine.id, code })),
        );
        expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400, 400]);
        expect(oidc.tokenRequests.length).toBe(tokensBefore + 1);
        expect((await getConnection(store.db, projectA, mine.id))?.accountIdentity).toBe('leo');
      });

      it("creates the connection when the browser completes it at the daemon's own callback, and none when refused", async () => {
        const before = await connectionsOf(projectA);
        const refused = await authorize(keyA, { connector_type: 'testapp' });
        expect(refused.json.connection_id).toBeNull();
        const denied = await call(
          'GET',
          `${CALLBACK}?error=access_denied&state=${String(refused.json.state)}`,
          undefined,
        );
        expect(denied.status).toBe(400);
        const badCode = await authorize(keyA, { connector_type: 'testapp' });
        const failed = await call(
          'GET',
          `${CALLBACK}?code=nope&state=${String(badCode.json.state)}`,
          undefined,
        );
        expect(failed.status).toBe(400);
        expect(await connectionsOf(projectA)).toEqual(before);

        const started = await authorize(keyA, { connector_type: 'testapp' });
        const back = await approve(String(started.json.authorization_url), 'mallory');
        const page = await call('GET', `${back.pathname}${back.search}`, undefined);
        expect(page.status, page.text).toBe(200);
        const made = (await connectionsOf(projectA)).filter((id) => !before.includes(id));
        expect(made).toHaveLength(1);
        expect(await getConnection(store.db, projectA, made[0] ?? '-')).toMatchObject({
          connector: 'testapp',
          name: 'testapp',
          status: 'active',
          accountIdentity: 'mallory',
        });
      });
    });

    it('derives the default redirect_uri from --public-url, a trusted proxy, or the listening address only', async () => {
      const connection = await newConnection(projectA);
      const deps = {
        registry: () => Promise.resolve(daemon.registry),
        apiKeys: store.apiKeys,
        readiness: store.readiness,
        data: store,
        env: {
          ...oidc.envFor('testapp'),
          TESTAPP_CLIENT_ID: CLIENT.id,
          TESTAPP_CLIENT_SECRET: CLIENT.secret,
        },
      };
      const redirectOf = async (built: App, headers: Record<string, string>): Promise<unknown> => {
        const answer = await built.inject({
          method: 'POST',
          url: '/api/v1/oauth/authorize',
          headers: { authorization: `Bearer ${keyA}`, ...headers },
          payload: { connection_id: connection.id },
        });
        const body = answer.json<Record<string, unknown>>();
        return answer.statusCode === 200 ? body.redirect_uri : body;
      };
      const forwarded = {
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        host: 'evil.example',
      };
      // A Host or X-Forwarded-Host header alone changes nothing.
      const direct = await call('POST', '/api/v1/oauth/authorize', keyA, { connection_id: connection.id });
      expect(direct.json.redirect_uri).toBe(`${base}${CALLBACK}`);
      const published = await buildApp(deps, { publicUrl: 'https://connectr.example.com/base/' });
      const proxied = await buildApp(deps, { trustProxy: true });
      const unlistened = await buildApp(deps);
      try {
        expect(await redirectOf(published, forwarded)).toBe(`https://connectr.example.com/base${CALLBACK}`);
        expect(await redirectOf(proxied, forwarded)).toBe(`https://evil.example${CALLBACK}`);
        // Not listening and not told: it says how to tell it, rather than trust the Host header.
        expect(await redirectOf(unlistened, forwarded)).toMatchObject({
          error: { code: 'invalid_input', hint: expect.stringContaining('--public-url') as unknown },
        });
      } finally {
        await Promise.all([published.close(), proxied.close(), unlistened.close()]);
      }
      for (const bad of ['ftp://x.example', 'https://x.example/?q=1', 'not a url']) {
        await expect(buildApp(deps, { publicUrl: bad })).rejects.toThrow(/--public-url/);
      }
    });

    it('needs an API key for POST /oauth/callback, none for the GET the browser makes', async () => {
      const post = await call('POST', CALLBACK, undefined, {
        connection_id: 'x',
        code: 'y',
        redirect_uri: base,
      });
      expect(post.status).toBe(401);
      const get = await call('GET', `${CALLBACK}?state=x&code=y`, undefined);
      expect(get.status).toBe(400);
    });

    it('never puts a token, code, verifier or client secret in a response or a log line', () => {
      expect(issued.length).toBeGreaterThan(4);
      const everything = `${answers.join('\n')}\n${logs.text}`;
      expect(logs.text).toContain(CALLBACK);
      for (const token of issued) expect(everything).not.toContain(token);
      expect(everything).not.toContain(CLIENT.secret);
      expect(everything).not.toContain(SAVED.secret);
      const code = firstCallback.searchParams.get('code') ?? '-';
      expect(everything).not.toContain(code);
      for (const request of oidc.tokenRequests) {
        if (request.code_verifier) expect(everything).not.toContain(request.code_verifier);
      }
    });
  });
}
