import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OAuthSecret } from '../../src/server/oauth/flow.js';
import { createApiKey } from '../../src/server/store/api-keys.js';
import { createConnection, getConnection } from '../../src/server/store/connections.js';
import { getCredential, putCredential } from '../../src/server/store/credentials.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { credentials } from '../../src/server/store/schema.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { gmailServerEnv, startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { LogCapture, callApi } from './helpers.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * `POST /api/v1/proxy/execute` against the Gmail emulator, with the credential from the real
 * store and refreshes at a real OAuth server (oauth2-mock-server on 127.0.0.1), on PGlite and
 * on PostgreSQL. The emulator accepts only the access tokens the test made valid: the first
 * one stored, and each one the authorization server issues.
 */

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown>;
  readonly type: string | null;
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(
    `POST /api/v1/proxy/execute on ${variantTitle(variant)}`,
    () => {
      let daemon: TestDaemon;
      let store: OpenedServerStore;
      let auth: TestAuthServer;
      let gmail: GmailEmulator;
      let base: string;
      let metricsKey: string;
      let key: string;
      let otherKey: string;
      let projectId: string;
      const logs = new LogCapture();
      const answers: string[] = [];
      const valid = new Set<string>();
      /** Every token the authorization server handed out. */
      const issued: string[] = [];
      let refuseNext = false;

      beforeAll(async () => {
        auth = await startAuthServer();
        auth.server.service.on(
          'beforeResponse',
          (response: { statusCode: number; body: Record<string, unknown> }) => {
            if (refuseNext) {
              refuseNext = false;
              response.statusCode = 400;
              response.body = {
                error: 'invalid_grant',
                error_description: 'Token has been expired or revoked.',
              };
              return;
            }
            for (const name of ['access_token', 'refresh_token']) {
              const value = response.body[name];
              if (typeof value === 'string') issued.push(value);
            }
            if (typeof response.body.access_token === 'string') valid.add(response.body.access_token);
          },
        );
        gmail = await startGmailEmulator({ acceptToken: (t) => valid.has(t) });
        daemon = await withServer({
          backend: variant,
          env: gmailServerEnv(auth, gmail.url),
          logs,
          logLevel: 'trace',
          listen: true,
        });
        ({ store, base } = daemon);
        projectId = await daemon.project('default');
        const other = await daemon.project('other');
        key = await daemon.key(projectId, { name: 'a' });
        otherKey = await daemon.key(other, { name: 'b' });
        metricsKey = await daemon.key(projectId, { name: 'scraper', scope: 'metrics' });
      }, 60_000);

      afterAll(async () => {
        await daemon.close();
        await gmail.close();
        await auth.stop();
      });

      beforeEach(() => {
        refuseNext = false;
      });

      async function post(body: unknown, apiKey = key): Promise<Answer> {
        const answer = await callApi(base, 'POST', '/api/v1/proxy/execute', apiKey, body);
        answers.push(answer.text);
        return { ...answer, type: answer.headers.get('content-type') };
      }

      /** A gmail connection signed in with `access`, expiring at `expiresAt`. */
      async function signedIn(
        access: string,
        expiresAt: Date | null,
        refresh = 'refresh-1',
      ): Promise<string> {
        const connection = await createConnection(store.db, {
          projectId,
          connector: 'gmail',
          name: 'mailbox',
        });
        const secret: OAuthSecret = {
          access_token: access,
          token_type: 'Bearer',
          refresh_token: refresh,
          scopes: ['https://www.googleapis.com/auth/gmail.readonly'],
          ...(expiresAt ? { expires_at: expiresAt.toISOString() } : {}),
        };
        await putCredential(store.db, store.keys, {
          projectId,
          connectionId: connection.id,
          secret,
          expiresAt,
        });
        valid.add(access);
        return connection.id;
      }

      const inAnHour = (): Date => new Date(Date.now() + 3600_000);
      const tokenRequests = (): number => auth.tokenRequests.length;
      const stored = async (id: string): Promise<OAuthSecret> => {
        const found = await getCredential<OAuthSecret>(store.db, store.keys, projectId, id);
        if (!found) throw new Error(`no credential for ${id}`);
        return found.secret;
      };

      it('runs an endpoint with the stored token and returns the upstream answer as data', async () => {
        const id = await signedIn('access-a', inAnHour());
        const before = gmail.requests.length;
        const r = await post({ connection_id: id, endpoint: 'get_profile' });
        expect(r.status).toBe(200);
        expect(r.json).toMatchObject({
          status: 200,
          encoding: 'json',
          content_type: expect.stringContaining('application/json') as unknown,
          body: { emailAddress: expect.any(String) as unknown, messagesTotal: 7 },
        });
        expect(
          gmail.requests
            .slice(before)
            .map((q) => [q.method, new URL(q.url, 'http://x').pathname, q.headers.authorization]),
        ).toEqual([['GET', '/gmail/v1/users/me/profile', 'Bearer access-a']]);
        expect(tokenRequests()).toBe(0);
      });

      it("passes the upstream's error answer on as data, with its status", async () => {
        const id = await signedIn('access-b', inAnHour());
        const r = await post({
          connection_id: id,
          endpoint: 'get_message',
          params: { id: 'no-such-message' },
        });
        expect(r.status).toBe(200);
        expect(r.json).toMatchObject({ status: 404, encoding: 'json', body: { error: { code: 404 } } });
      });

      it('refuses bad input with a 400 naming the field, sending nothing upstream', async () => {
        const id = await signedIn('access-c', inAnHour());
        const before = gmail.requests.length;
        const wrongType = await post({
          connection_id: id,
          endpoint: 'list_messages',
          params: { maxResults: 'many' },
        });
        expect(wrongType.status).toBe(400);
        expect(wrongType.json).toMatchObject({
          error: {
            code: 'invalid_input',
            message: 'params.maxResults expects an integer; got "many"',
            details: [{ field: 'body.params.maxResults', message: 'expects an integer; got "many"' }],
          },
        });
        const outOfEnum = await post({
          connection_id: id,
          endpoint: 'list_messages',
          params: { maxResults: 2, surprise: 1, other: 2 },
        });
        expect(outOfEnum.status).toBe(400);
        expect((outOfEnum.json.error as { details: unknown[] }).details).toEqual([
          { field: 'body.params.surprise', message: 'list_messages has no parameter "surprise"' },
          { field: 'body.params.other', message: 'list_messages has no parameter "other"' },
        ]);
        const unknown = await post({ connection_id: id, endpoint: 'get_profil' });
        expect(unknown.status).toBe(400);
        expect(unknown.json).toMatchObject({
          error: {
            code: 'invalid_input',
            details: [{ field: 'body.endpoint' }],
            hint: expect.stringContaining('get_profile') as unknown,
          },
        });
        const missing = await post({ connection_id: id, endpoint: 'get_message' });
        expect(missing.status).toBe(400);
        expect(missing.json).toMatchObject({
          error: {
            message: 'missing required parameter params.id for get_message',
            details: [{ field: 'body.params.id', message: 'is required' }],
          },
        });
        const stray = await post({ connection_id: id, endpoint: 'get_profile', surprise: 1 });
        expect(stray.status).toBe(400);
        const both = await post({
          connection_id: id,
          endpoint: 'get_profile',
          body: 'x',
          body_base64: 'eA==',
        });
        expect(both.status).toBe(400);
        // A client that says which connector it means (the SDKs' generated classes do) is
        // refused another connector's connection before its endpoint of that name is run.
        const wrongConnector = await post({
          connection_id: id,
          connector: 'dropbox',
          endpoint: 'get_profile',
        });
        expect(wrongConnector.status).toBe(400);
        expect(wrongConnector.json).toMatchObject({
          error: {
            code: 'invalid_input',
            message: `connection ${id} is a gmail connection, not dropbox`,
            details: [{ field: 'body.connector' }],
          },
        });
        expect(gmail.requests.length).toBe(before);
        const rightConnector = await post({ connection_id: id, connector: 'gmail', endpoint: 'get_profile' });
        expect(rightConnector.json).toMatchObject({ status: 200, encoding: 'json' });
      });

      it("answers 404 for an unknown connection and for another project's, alike", async () => {
        const id = await signedIn('access-d', inAnHour());
        const other = await post({ connection_id: id, endpoint: 'get_profile' }, otherKey);
        const none = await post({ connection_id: 'conn_doesnotexist', endpoint: 'get_profile' });
        expect(other.status).toBe(404);
        expect(none.status).toBe(404);
        expect((other.json.error as { message: string }).message).toBe(`no connection ${id}`);
      });

      it('streams every item of every page as NDJSON with all: true, up to a limit', async () => {
        const id = await signedIn('access-e', inAnHour());
        const everything = await post({
          connection_id: id,
          endpoint: 'list_messages',
          params: { maxResults: 2 },
          all: true,
        });
        expect(everything.status).toBe(200);
        expect(everything.type).toContain('application/x-ndjson');
        const lines = everything.text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as { id: string });
        expect(lines).toHaveLength(7);
        expect(new Set(lines.map((l) => l.id)).size).toBe(7);
        const some = await post({
          connection_id: id,
          endpoint: 'list_messages',
          params: { maxResults: 2 },
          all: true,
          limit: 3,
        });
        expect(some.text.trimEnd().split('\n')).toHaveLength(3);
        // An endpoint without pagination is refused before anything is sent.
        const single = await post({ connection_id: id, endpoint: 'get_profile', all: true });
        expect(single.status).toBe(400);
      });

      it('refreshes an expiring token once, keeps the refresh token the provider did not replace, and records it', async () => {
        const id = await signedIn('access-f', new Date(Date.now() + 10_000), 'refresh-f');
        const before = tokenRequests();
        const r = await post({ connection_id: id, endpoint: 'get_profile' });
        expect(r.json).toMatchObject({ status: 200 });
        expect(tokenRequests()).toBe(before + 1);
        expect(auth.tokenRequests.at(-1)).toMatchObject({
          grant_type: 'refresh_token',
          refresh_token: 'refresh-f',
        });
        const secret = await stored(id);
        expect(secret.access_token).not.toBe('access-f');
        expect(gmail.requests.at(-1)?.headers.authorization).toBe(`Bearer ${secret.access_token}`);
        expect(secret.refresh_token).toBeDefined();
        const connection = await getConnection(store.db, projectId, id);
        expect(connection?.lastRefreshAt).not.toBeNull();
        expect(connection?.status).toBe('active');
        // The new token is good for an hour: the next call sends no token request.
        await post({ connection_id: id, endpoint: 'get_profile' });
        expect(tokenRequests()).toBe(before + 1);
      });

      it('sends one token request however many calls find the token expired at once', async () => {
        const id = await signedIn('access-g', new Date(Date.now() - 1000));
        const before = tokenRequests();
        const results = await Promise.all(
          Array.from({ length: 6 }, () => post({ connection_id: id, endpoint: 'get_profile' })),
        );
        expect(results.map((r) => [r.status, r.json.status])).toEqual(
          Array.from({ length: 6 }, () => [200, 200]),
        );
        expect(tokenRequests()).toBe(before + 1);
      });

      it('refreshes once after the API refused a token that had not expired, and replays the call', async () => {
        const id = await signedIn('access-h', inAnHour());
        valid.delete('access-h');
        const before = tokenRequests();
        const r = await post({ connection_id: id, endpoint: 'get_profile' });
        expect(r.json).toMatchObject({ status: 200 });
        expect(tokenRequests()).toBe(before + 1);
      });

      it('marks the connection needs_reauth on invalid_grant: a 409 that says what to do, then no more token requests', async () => {
        const id = await signedIn('access-i', new Date(Date.now() - 1000));
        refuseNext = true;
        const before = tokenRequests();
        const r = await post({ connection_id: id, endpoint: 'get_profile' });
        expect(r.status).toBe(409);
        expect(r.json).toMatchObject({
          error: {
            code: 'needs_reauth',
            message: expect.stringContaining('invalid_grant') as unknown,
            hint: expect.stringContaining('POST /api/v1/oauth/authorize') as unknown,
          },
        });
        expect(tokenRequests()).toBe(before + 1);
        const shown = await fetch(`${base}/api/v1/connections/${id}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        expect(await shown.json()).toMatchObject({
          status: 'needs_reauth',
          last_error: {
            code: 'refresh_rejected',
            message: expect.stringContaining('invalid_grant') as unknown,
          },
        });
        const again = await post({ connection_id: id, endpoint: 'get_profile' });
        expect(again.status).toBe(409);
        expect(tokenRequests()).toBe(before + 1);
      });

      it('GET /connections/{id}/token refreshes an expiring token before giving it', async () => {
        const tokenKey = (await createApiKey(store.db, { projectId, name: 'tokens', allowToken: true }))
          .secret;
        const id = await signedIn('access-j', new Date(Date.now() + 5_000));
        const before = tokenRequests();
        const response = await fetch(`${base}/api/v1/connections/${id}/token`, {
          headers: { authorization: `Bearer ${tokenKey}` },
        });
        const body = (await response.json()) as { access_token: string; expires_at: string };
        expect(response.status).toBe(200);
        expect(tokenRequests()).toBe(before + 1);
        expect(body.access_token).toBe((await stored(id)).access_token);
        expect(body.access_token).not.toBe('access-j');
        expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.now() + 60_000);
      });

      it('answers 409 needs_reauth for a connection that has no credential yet', async () => {
        const connection = await createConnection(store.db, { projectId, connector: 'gmail', name: 'new' });
        const r = await post({ connection_id: connection.id, endpoint: 'get_profile' });
        expect(r.status).toBe(409);
        expect(r.json).toMatchObject({ error: { code: 'needs_reauth' } });
      });

      it('with all: true, counts each page the API answered in /metrics, as single calls are counted', async () => {
        const id = await signedIn('access-m', inAnHour());
        const count = async (status: number): Promise<number> => {
          const text = await (
            await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsKey}` } })
          ).text();
          const line = new RegExp(
            `^connectr_upstream_responses_total\\{connector="gmail",status="${status}"\\} (\\d+)$`,
            'm',
          ).exec(text);
          return Number(line?.[1] ?? 0);
        };
        const [ok, refused] = [await count(200), await count(403)];
        // 7 messages, 2 a page: 4 pages.
        const everything = await post({
          connection_id: id,
          endpoint: 'list_messages',
          params: { maxResults: 2 },
          all: true,
        });
        expect(everything.text.trimEnd().split('\n')).toHaveLength(7);
        expect(await count(200)).toBe(ok + 4);
        // The second page refused: the first page and the refusal are counted.
        gmail.faults.push({
          match: (req) => req.url.searchParams.has('pageToken'),
          status: 403,
          body: { error: { code: 403, message: 'Forbidden', status: 'PERMISSION_DENIED' } },
        });
        const cut = await post({
          connection_id: id,
          endpoint: 'list_messages',
          params: { maxResults: 2 },
          all: true,
        });
        expect(cut.text).toContain('"error"');
        expect(await count(200)).toBe(ok + 5);
        expect(await count(403)).toBe(refused + 1);
      });

      it('counts refreshes and upstream statuses in /metrics, for a metrics key only', async () => {
        // A project's key would see every project's connectors: 403, naming the scope needed.
        const refused = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${key}` } });
        expect(refused.status).toBe(403);
        expect(await refused.json()).toMatchObject({
          error: { code: 'forbidden', hint: expect.stringContaining('--scope metrics') as unknown },
        });
        // And the metrics key reaches no project.
        const noProject = await fetch(`${base}/api/v1/connections`, {
          headers: { authorization: `Bearer ${metricsKey}` },
        });
        expect(noProject.status).toBe(403);
        const response = await fetch(`${base}/metrics`, {
          headers: { authorization: `Bearer ${metricsKey}` },
        });
        expect(response.status).toBe(200);
        const text = await response.text();
        expect(text).toMatch(/^connectr_token_refreshes_total\{connector="gmail"\} [1-9]/m);
        expect(text).toMatch(
          /^connectr_token_refresh_failures_total\{connector="gmail",reason="invalid_grant"\} 1$/m,
        );
        expect(text).toMatch(/^connectr_upstream_responses_total\{connector="gmail",status="200"\} [1-9]/m);
      });

      it('never put a token in an answer or a log line', async () => {
        // Rows written by the refreshes hold only sealed values.
        const rows = await store.db.select().from(credentials).where(eq(credentials.projectId, projectId));
        expect(rows.length).toBeGreaterThan(0);
        const secrets = [...issued, ...['access-a', 'refresh-1', 'refresh-f']];
        const everything = [...answers, logs.text].join('\n');
        for (const secret of secrets) expect(everything).not.toContain(secret);
        for (const row of rows)
          for (const secret of secrets) expect(row.secretEncrypted).not.toContain(secret);
      });
    },
  );
}
