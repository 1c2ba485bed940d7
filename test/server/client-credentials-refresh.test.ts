import { request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorEnvelope } from '../../src/server/errors.js';
import type { OAuthSecret } from '../../src/server/oauth/tokens.js';
import { recordingServer } from '../helpers/net.js';
import type { RecordingServer } from '../helpers/net.js';
import { startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * A daemon connection whose connector signs no one in (the client credentials grant only) is
 * renewed as the CLI renews such an account: the client credentials grant again, with the
 * project's OAuth app, when its token expires or the API refuses it. A real OAuth server
 * (oauth2-mock-server) issues the tokens; the API on 127.0.0.1 refuses the seeded ones.
 */

/** The bearer tokens the API was sent, in order. */
const sentTokens = (api: RecordingServer): string[] =>
  api.hits.map((hit) => (hit.headers.authorization ?? '').replace(/^Bearer /, ''));

const connectorYaml = (name: string, grants: string): string => `name: ${name}
display_name: ${name}
version: 1
docs_url: https://example.com/docs
description: Test.
hosts:
  api: https://api.${name}.example.com
auth:
  type: oauth2
  grants: [${grants}]
  authorization_url: https://auth.${name}.example.com/authorize
  token_url: https://auth.${name}.example.com/token
  scopes: [read]
  client_auth: post
  client_secret: required
endpoints:
  me:
    summary: Me.
    method: GET
    path: /me
`;

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(
    `client credentials renewed by the daemon on ${variantTitle(variant)}`,
    () => {
      let auth: TestAuthServer;
      let api: RecordingServer;
      let daemon: TestDaemon;
      let key = '';
      let projectId = '';

      beforeAll(async () => {
        auth = await startAuthServer();
        // Refuses the tokens the test seeded and takes any other.
        const started = await recordingServer('127.0.0.1', (req, res) => {
          const refused = !/^Bearer (?!seeded-)./.test(req.headers.authorization ?? '');
          res.writeHead(refused ? 401 : 200, { 'content-type': 'application/json' });
          res.end(refused ? '{"error":"invalid_token"}' : '{"ok":true}');
        });
        if (!started) throw new Error('no 127.0.0.1');
        api = started;
        daemon = await withServer({
          backend: variant,
          connectors: {
            machine: connectorYaml('machine', 'client_credentials'),
            // Signs users in too: a token without a refresh token there is a user's, never replaced by the app's.
            mixed: connectorYaml('mixed', 'authorization_code, client_credentials'),
          },
          env: {
            ...auth.envFor('machine'),
            ...auth.envFor('mixed'),
            CONNECTR_MACHINE_API_BASE_URL: api.origin,
            CONNECTR_MIXED_API_BASE_URL: api.origin,
            MACHINE_CLIENT_ID: 'machine-client',
            MACHINE_CLIENT_SECRET: 'machine-client-SECRET',
            MIXED_CLIENT_ID: 'mixed-client',
            MIXED_CLIENT_SECRET: 'mixed-client-SECRET',
          },
          listen: true,
        });
        projectId = await daemon.project('machines');
        key = await daemon.key(projectId, { name: 'machines' });
      }, 60_000);

      afterAll(async () => {
        await daemon.close();
        await api.close();
        await auth.stop();
      });

      /** A connection holding a seeded token (no refresh token) that expires at `expiresAt`. */
      async function seeded(connector: string, name: string, expiresAt: Date): Promise<string> {
        return daemon.connection(projectId, {
          connector,
          name,
          secret: {
            access_token: `seeded-${name}`,
            token_type: 'Bearer',
            scopes: ['read'],
          } satisfies OAuthSecret,
          expiresAt,
        });
      }

      async function executed(id: string): Promise<{ status: number; text: string }> {
        const res = await undiciRequest(`${daemon.base}/api/v1/proxy/execute`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ connection_id: id, endpoint: 'me' }),
        });
        return { status: res.statusCode, text: await res.body.text() };
      }

      const grantsSince = (before: number): Record<string, string>[] =>
        auth.tokenRequests.slice(before).filter((r) => r.grant_type === 'client_credentials');

      it('an expired token: a new one from the client credentials grant before the call', async () => {
        const id = await seeded('machine', 'expired', new Date(Date.now() - 60_000));
        const before = auth.tokenRequests.length;
        const calls = api.hits.length;
        const answer = await executed(id);
        expect(answer.status, answer.text).toBe(200);
        expect(JSON.parse(answer.text)).toMatchObject({ status: 200, body: { ok: true } });
        const grants = grantsSince(before);
        expect(grants).toHaveLength(1);
        expect(grants[0]).toMatchObject({ client_id: 'machine-client', scope: 'read' });
        expect(grants[0]?.refresh_token).toBeUndefined();
        // The expired token was never sent; the new one was, and is kept for the next call.
        const sent = sentTokens(api).slice(calls);
        expect(sent).toHaveLength(1);
        expect(sent[0]).not.toMatch(/^seeded-/);
        expect((await executed(id)).status).toBe(200);
        expect(sentTokens(api).at(-1)).toBe(sent[0]);
        expect(grantsSince(before)).toHaveLength(1);
      });

      it('a token the API refuses: a new one from the client credentials grant, and the call replayed', async () => {
        const id = await seeded('machine', 'refused', new Date(Date.now() + 3600_000));
        const before = auth.tokenRequests.length;
        const calls = api.hits.length;
        const answer = await executed(id);
        expect(answer.status, answer.text).toBe(200);
        expect(JSON.parse(answer.text)).toMatchObject({ status: 200, body: { ok: true } });
        expect(grantsSince(before)).toHaveLength(1);
        const sent = sentTokens(api).slice(calls);
        expect(sent[0]).toBe('seeded-refused');
        expect(sent[1]).not.toMatch(/^seeded-/);
        expect(sent).toHaveLength(2);
      });

      it('a connector that signs users in: a token without a refresh token is not replaced by the app’s own', async () => {
        const id = await seeded('mixed', 'user', new Date(Date.now() - 60_000));
        const before = auth.tokenRequests.length;
        const answer = await executed(id);
        expect(answer.status, answer.text).toBe(409);
        expect((JSON.parse(answer.text) as ErrorEnvelope).error.code).toBe('needs_reauth');
        expect(auth.tokenRequests.length - before).toBe(0);
      });
    },
  );
}
