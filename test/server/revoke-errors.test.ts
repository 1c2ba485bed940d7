import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../../src/server/store/connections.js';
import { putCredential } from '../../src/server/store/credentials.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import type { App } from '../../src/server/types.js';
import { startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import { PGLITE } from '../helpers/server-store.js';
import { LogCapture } from './helpers.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * `DELETE /api/v1/connections/{id}` says why a revocation failed (`revoke_error`). What it
 * says comes from the provider (its answer, or that it could not be reached), never from the
 * database or anything else inside the server: a fault there is a generic text naming the
 * request, its cause in the log. Nor does it repeat a secret a provider echoed. On the real
 * store (PGlite) with a real OAuth server (oauth2-mock-server) on 127.0.0.1.
 */

const connectorYaml = (name: string): string => `name: ${name}
display_name: ${name}
version: 1
docs_url: https://example.com/docs
description: A connector whose grants are revoked at a test endpoint.
hosts:
  api: https://api.example.com
auth:
  type: oauth2
  authorization_url: https://auth.example.com/authorize
  token_url: https://auth.example.com/token
  revocation_url: https://auth.example.com/revoke
  client_auth: post
  client_secret: required
endpoints:
  me:
    summary: Who am I.
    method: GET
    path: /me
`;

const ACCESS_TOKEN = 'ya29.access-SECRET-token';
const REFRESH_TOKEN = '1//refresh-SECRET-token';
const CLIENT_SECRET = 'client-SECRET-value';

/** What no answer may contain: words of SQL and of the database's errors. */
const DATABASE_WORDS = /select |from |where |"oauth_apps"|client_id_gone|failed query|drizzle|pglite/i;

describe(`revoke_error on DELETE of a connection (${PGLITE.name})`, () => {
  let daemon: TestDaemon;
  let store: OpenedServerStore;
  let oauth: TestAuthServer;
  let app: App;
  let key = '';
  let projectId = '';
  const logs = new LogCapture();
  /** A provider that answers 200 with an error echoing what it was sent, as Slack answers errors. */
  const echo = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const said = `invalid_token ${form.get('token') ?? ''} for ${form.get('client_id') ?? ''}:${form.get('client_secret') ?? ''} ${encodeURIComponent(form.get('token') ?? '')}\u001b[2J${'x'.repeat(5000)}`;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ error: said }));
    });
  });
  /** A port nothing listens on. */
  let closedPort = 0;

  beforeAll(async () => {
    oauth = await startAuthServer();
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const env: Record<string, string> = {
      CONNECTR_MOCKAPP_REVOCATION_URL: `${oauth.issuer}/revoke`,
      CONNECTR_ECHOAPP_REVOCATION_URL: `http://127.0.0.1:${(echo.address() as AddressInfo).port}/revoke`,
      CONNECTR_GONEAPP_REVOCATION_URL: `http://127.0.0.1:${closedPort}/revoke`,
    };
    for (const name of ['MOCKAPP', 'ECHOAPP', 'GONEAPP']) {
      env[`${name}_CLIENT_ID`] = `${name.toLowerCase()}-client`;
      env[`${name}_CLIENT_SECRET`] = CLIENT_SECRET;
    }
    daemon = await withServer({
      backend: PGLITE,
      connectors: Object.fromEntries(['mockapp', 'echoapp', 'goneapp'].map((n) => [n, connectorYaml(n)])),
      env,
      logs,
    });
    ({ store, app } = daemon);
    projectId = await daemon.project('default');
    key = await daemon.key(projectId, { name: 'a' });
  }, 60_000);

  afterAll(async () => {
    await daemon.close();
    await oauth.stop();
    echo.close();
  });

  /** A connection of `connector` holding tokens, deleted through the API: the answer. */
  async function deleteOne(connector: string): Promise<{
    status: number;
    body: { deleted?: boolean; revoked?: boolean; revoke_error?: string };
    text: string;
    requestId: string;
  }> {
    const { id } = await createConnection(store.db, {
      projectId,
      connector,
      name: `${connector} of someone`,
    });
    await putCredential(store.db, store.keys, {
      projectId,
      connectionId: id,
      secret: { access_token: ACCESS_TOKEN, refresh_token: REFRESH_TOKEN, token_type: 'Bearer' },
    });
    const res = await app.inject({
      method: 'DELETE',
      url: `/api/v1/connections/${id}`,
      headers: { authorization: `Bearer ${key}` },
    });
    const gone = await app.inject({
      url: `/api/v1/connections/${id}`,
      headers: { authorization: `Bearer ${key}` },
    });
    // Deleted whatever the revocation did.
    expect(gone.statusCode).toBe(404);
    return {
      status: res.statusCode,
      body: res.json(),
      text: res.body,
      requestId: String(res.headers['x-request-id'] ?? ''),
    };
  }

  function holdsNoSecret(text: string): void {
    for (const secret of [ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET, encodeURIComponent(REFRESH_TOKEN)])
      expect(text).not.toContain(secret);
  }

  it('a database fault reading the OAuth app: a generic text naming the request, the cause in the log', async () => {
    await store.db.execute(sql`alter table oauth_apps rename column client_id to client_id_gone`);
    try {
      const answer = await deleteOne('mockapp');
      expect(answer.status, answer.text).toBe(200);
      expect(answer.requestId).not.toBe('');
      expect(answer.body).toEqual({
        deleted: true,
        revoked: false,
        revoke_error: `the grant could not be revoked: internal error (request ${answer.requestId}); the server log has the details`,
      });
      expect(answer.text).not.toMatch(DATABASE_WORDS);
      expect(answer.text).not.toContain(projectId);
      holdsNoSecret(answer.text);
      // The operator finds the cause under the request id.
      expect(
        logs
          .lines()
          .some(
            (line) =>
              line.reqId === answer.requestId &&
              line.msg === 'revocation failed' &&
              JSON.stringify(line).includes('oauth_apps'),
          ),
      ).toBe(true);
    } finally {
      await store.db.execute(sql`alter table oauth_apps rename column client_id_gone to client_id`);
    }
  });

  it("the provider's own refusal is kept: a real OAuth server answering 400", async () => {
    oauth.server.service.once('beforeRevoke', (response: { statusCode: number }) => {
      response.statusCode = 400;
    });
    const answer = await deleteOne('mockapp');
    expect(answer.body).toEqual({
      deleted: true,
      revoked: false,
      revoke_error: `127.0.0.1:${new URL(oauth.issuer).port} answered the revocation with HTTP 400`,
    });
    // And the same server, when it accepts: revoked.
    expect((await deleteOne('mockapp')).body).toEqual({ deleted: true, revoked: true });
  });

  it('a provider that cannot be reached is said so, naming only its host', async () => {
    const answer = await deleteOne('goneapp');
    expect(answer.body.revoked).toBe(false);
    expect(answer.body.revoke_error).toMatch(new RegExp(`^cannot reach 127\\.0\\.0\\.1:${closedPort}: `));
  });

  it('a provider echoing the token and the client secret: its words without them, bounded', async () => {
    const answer = await deleteOne('echoapp');
    expect(answer.body.revoked).toBe(false);
    const error = answer.body.revoke_error ?? '';
    expect(error).toMatch(
      /refused the revocation: invalid_token \[REDACTED\] for echoapp-client:\[REDACTED\]/,
    );
    holdsNoSecret(answer.text);
    expect(error).not.toContain('\u001b');
    expect(error.length).toBeLessThan(600);
    // Nor does the log hold them.
    holdsNoSecret(logs.text);
  });
});
