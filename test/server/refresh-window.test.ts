import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFRESH_WINDOW_MS } from '../../src/core/auth/refresh-protocol.js';
import type { ErrorEnvelope } from '../../src/server/errors.js';
import type { OAuthSecret } from '../../src/server/oauth/tokens.js';
import { createConnection } from '../../src/server/store/connections.js';
import { putCredential } from '../../src/server/store/credentials.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import { BACKENDS, POSTGRES, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * The refresh storm (issue #21, point 8): an API that refuses every token must not make the
 * daemon ask the provider for a new one on each call. A real OAuth server (oauth2-mock-server)
 * counts the refresh grants; the API on 127.0.0.1 answers 401 to everything. One refresh per
 * connection per REFRESH_WINDOW_MS, through the raw proxy, execute and MCP alike, and across two
 * server instances on one PostgreSQL.
 */

/** An API that refuses every token it is given. */
class RefusingApi {
  calls = 0;
  private readonly server: Server = createServer((req, res) => {
    this.calls++;
    req.resume();
    res.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': 'Bearer error="invalid_token"',
    });
    res.end('{"error":"invalid_token"}');
  });
  origin = '';
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A clock the test moves on: the server's `now`. */
class TestClock {
  private offset = 0;
  readonly now = (): number => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

const CONNECTOR = `name: stormy
display_name: Stormy
version: 1
docs_url: https://example.com/docs
description: Test.
hosts:
  api: https://api.stormy.example.com
auth:
  type: oauth2
  grants: [authorization_code]
  authorization_url: https://auth.stormy.example.com/authorize
  token_url: https://auth.stormy.example.com/token
  scopes: [read]
  client_auth: post
  client_secret: required
  client_id_env: STORMY_CLIENT_ID
  client_secret_env: STORMY_CLIENT_SECRET
endpoints:
  me:
    summary: Me.
    method: GET
    path: /me
`;

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`refresh storm on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let store: OpenedServerStore;
    let auth: TestAuthServer;
    const api = new RefusingApi();
    const clock = new TestClock();
    let base = '';
    let otherBase = '';
    let key = '';
    let projectId = '';

    beforeAll(async () => {
      auth = await startAuthServer();
      await api.start();
      daemon = await withServer({
        backend: variant,
        connectors: { stormy: CONNECTOR },
        env: {
          ...auth.envFor('stormy'),
          CONNECTR_STORMY_API_BASE_URL: api.origin,
          STORMY_CLIENT_ID: 'stormy-client',
          STORMY_CLIENT_SECRET: 'stormy-client-SECRET',
        },
        now: clock.now,
        listen: true,
      });
      ({ store, base } = daemon);
      projectId = await daemon.project('storm');
      key = await daemon.key(projectId, { name: 'storm' });
      if (variant.name === 'postgres') {
        // A second daemon on the same database, with its own caches: another instance.
        otherBase = (await daemon.another({ listen: true })).base;
      }
    }, 60_000);

    afterAll(async () => {
      await daemon.close();
      await api.close();
      await auth.stop();
    });

    const grants = (): number => auth.tokenRequests.filter((r) => r.grant_type === 'refresh_token').length;

    /** A connection whose access token the API refuses, with a refresh token the provider takes. */
    async function refusedConnection(name: string): Promise<string> {
      const connection = await createConnection(store.db, { projectId, connector: 'stormy', name });
      await putCredential(store.db, store.keys, {
        projectId,
        connectionId: connection.id,
        secret: {
          access_token: `refused-${name}`,
          refresh_token: `refresh-${name}`,
          token_type: 'Bearer',
          scopes: ['read'],
        } satisfies OAuthSecret,
        expiresAt: new Date(Date.now() + 3600_000),
      });
      return connection.id;
    }

    async function proxied(id: string, at = base): Promise<{ status: number; text: string; own: boolean }> {
      const res = await undiciRequest(`${at}/api/v1/connections/${id}/proxy/me`, {
        headers: { authorization: `Bearer ${key}` },
      });
      return {
        status: res.statusCode,
        text: await res.body.text(),
        own: res.headers['x-connectr-error'] === '1',
      };
    }

    async function executed(id: string): Promise<{ status: number; text: string }> {
      const res = await undiciRequest(`${base}/api/v1/proxy/execute`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ connection_id: id, endpoint: 'me' }),
      });
      return { status: res.statusCode, text: await res.body.text() };
    }

    it('20 proxied requests one after another, each refused: one refresh; the later ones name the refused fresh token', async () => {
      const id = await refusedConnection('sequential');
      const before = grants();
      const answers = [];
      for (let i = 0; i < 20; i++) answers.push(await proxied(id));
      expect(grants() - before).toBe(1);
      // The first call's replay with the fresh token: the API's own 401 comes back.
      expect(answers[0]?.status).toBe(401);
      expect(answers[0]?.own).toBe(false);
      for (const answer of answers.slice(1)) {
        expect(answer.status, answer.text).toBe(502);
        expect(answer.own).toBe(true);
        const error = (JSON.parse(answer.text) as ErrorEnvelope).error;
        expect(error.code).toBe('refreshed_token_rejected');
        expect(error.message).toContain(id);
        expect(answer.text).not.toContain('SECRET');
      }
    });

    it('20 proxied requests at once, each refused: one refresh', async () => {
      const id = await refusedConnection('concurrent');
      const before = grants();
      const answers = await Promise.all(Array.from({ length: 20 }, () => proxied(id)));
      expect(grants() - before).toBe(1);
      for (const answer of answers) expect([401, 502]).toContain(answer.status);
    });

    it('after the window, a new refusal refreshes again, once', async () => {
      const id = await refusedConnection('window');
      const before = grants();
      await proxied(id);
      await proxied(id);
      expect(grants() - before).toBe(1);
      clock.advance(REFRESH_WINDOW_MS + 1000);
      for (let i = 0; i < 5; i++) await proxied(id);
      expect(grants() - before).toBe(2);
    });

    it('execute shares the window: 10 calls, one refresh', async () => {
      const id = await refusedConnection('execute');
      const before = grants();
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await executed(id));
      expect(grants() - before).toBe(1);
      const last = answers.at(-1);
      expect(last?.status, last?.text).toBe(502);
      expect((JSON.parse(last?.text ?? '{}') as ErrorEnvelope).error.code).toBe('refreshed_token_rejected');
    });

    it('MCP shares the window: 10 tool calls, one refresh', async () => {
      const id = await refusedConnection('mcp');
      const before = grants();
      const texts: string[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await undiciRequest(`${base}/mcp`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'connection-id': id,
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: i,
            method: 'tools/call',
            params: { name: 'stormy_me', arguments: {} },
          }),
        });
        texts.push(await res.body.text());
      }
      expect(grants() - before).toBe(1);
      const last = JSON.parse(texts.at(-1) ?? '{}') as {
        result?: { isError?: boolean; content?: { text?: string }[] };
      };
      expect(last.result?.isError, texts.at(-1)).toBe(true);
      expect(last.result?.content?.[0]?.text).toContain('refreshed at most once every');
    });

    it.skipIf(variant.name !== POSTGRES.name)(
      'two instances on one database, 20 requests alternating between them at once: one refresh',
      async () => {
        const id = await refusedConnection('instances');
        const before = grants();
        await Promise.all(Array.from({ length: 20 }, (_, i) => proxied(id, i % 2 === 0 ? base : otherBase)));
        for (let i = 0; i < 6; i++) await proxied(id, i % 2 === 0 ? base : otherBase);
        expect(grants() - before).toBe(1);
      },
    );
  });
}
