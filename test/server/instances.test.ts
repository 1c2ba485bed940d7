import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OAuthSecret } from '../../src/server/oauth/flow.js';
import { createApiKey } from '../../src/server/store/api-keys.js';
import { createConnection } from '../../src/server/store/connections.js';
import { getCredential, putCredential } from '../../src/server/store/credentials.js';
import { openServerStore } from '../../src/server/store/open.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { startBin } from '../helpers/bin.js';
import type { RunningBin } from '../helpers/bin.js';
import { gmailServerEnv, startAuthServer } from '../helpers/oauth-server.js';
import type { TestAuthServer } from '../helpers/oauth-server.js';
import type { FreshBackend } from '../helpers/server-store.js';
import { POSTGRES, memorySecrets, newKey, variantTitle } from '../helpers/server-store.js';

/**
 * Several `connectr serve` processes on one PostgreSQL, as behind a load balancer: a token that
 * expired is refreshed by one of them, once, and every instance then uses the new one.
 */
describe.skipIf(POSTGRES.skip !== undefined)(`two server processes on ${variantTitle(POSTGRES)}`, () => {
  const STARTED = /connectr serve: listening on (http:\/\/127\.0\.0\.1:\d+)/;
  let backend: FreshBackend;
  let store: OpenedServerStore;
  let auth: TestAuthServer;
  let gmail: GmailEmulator;
  const servers: RunningBin[] = [];
  const urls: string[] = [];
  const valid = new Set<string>();
  let key: string;
  let projectId: string;

  beforeAll(async () => {
    auth = await startAuthServer();
    auth.server.service.on('beforeResponse', (response: { body: Record<string, unknown> }) => {
      if (typeof response.body.access_token === 'string') valid.add(response.body.access_token);
    });
    gmail = await startGmailEmulator({ acceptToken: (t) => valid.has(t) });
    backend = await POSTGRES.fresh();
    const encryptionKey = newKey();
    const env = {
      ...backend.env,
      CONNECTR_ENCRYPTION_KEY: encryptionKey,
      ...gmailServerEnv(auth, gmail.url),
    };
    store = await openServerStore({ env, dataDir: backend.dataDir, secrets: memorySecrets() });
    projectId = (await ensureProject(store.db, 'default')).project.id;
    key = (await createApiKey(store.db, { projectId, name: 'lb' })).secret;
    for (let i = 0; i < 2; i++) {
      const running = startBin(['serve', '--port', '0', '--log-level', 'warn'], env, 120_000);
      servers.push(running);
      const [, url = ''] = await running.waitForStderr(STARTED, 60_000);
      urls.push(url);
    }
  }, 150_000);

  afterAll(async () => {
    for (const server of servers) server.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.done));
    await store.close();
    await gmail.close();
    await auth.stop();
    backend.cleanup();
  });

  it('refresh an expired token once between them, and both use the new one', async () => {
    const connection = await createConnection(store.db, { projectId, connector: 'gmail', name: 'shared' });
    const expired = new Date(Date.now() - 1000);
    const secret: OAuthSecret = {
      access_token: 'expired-access',
      token_type: 'Bearer',
      refresh_token: 'refresh-shared',
      scopes: [],
      expires_at: expired.toISOString(),
    };
    await putCredential(store.db, store.keys, {
      projectId,
      connectionId: connection.id,
      secret,
      expiresAt: expired,
    });
    const before = auth.tokenRequests.length;
    // Ten calls at once, alternating between the instances.
    const answers = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const response = await fetch(`${urls[i % 2] ?? ''}/api/v1/proxy/execute`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ connection_id: connection.id, endpoint: 'get_profile' }),
        });
        return [response.status, ((await response.json()) as { status?: number }).status];
      }),
    );
    expect(answers).toEqual(Array.from({ length: 10 }, () => [200, 200]));
    expect(auth.tokenRequests.slice(before).map((r) => [r.grant_type, r.refresh_token])).toEqual([
      ['refresh_token', 'refresh-shared'],
    ]);
    const stored = await getCredential<OAuthSecret>(store.db, store.keys, projectId, connection.id);
    const fresh = stored?.secret.access_token ?? '';
    expect(fresh).not.toBe('expired-access');
    // Every upstream call after the refresh carried the new token, from either instance.
    const tokens = new Set(gmail.requests.slice(-10).map((r) => r.headers.authorization));
    expect([...tokens]).toEqual([`Bearer ${fresh}`]);
  }, 60_000);
});
