import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/server/store/api-keys.js';
import { createConnection } from '../../src/server/store/connections.js';
import { putCredential } from '../../src/server/store/credentials.js';
import { openServerStore } from '../../src/server/store/open.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import { startServeProcesses } from '../helpers/bin.js';
import type { ServeProcesses } from '../helpers/bin.js';
import { PACED, mostInWindow, startPacedUpstream } from '../helpers/paced.js';
import type { PacedUpstream } from '../helpers/paced.js';
import type { FreshBackend } from '../helpers/server-store.js';
import { POSTGRES, memorySecrets, newKey, variantTitle } from '../helpers/server-store.js';

/**
 * Two `connectr serve` processes on one PostgreSQL, as behind a load balancer, sharing a limit of
 * 5 requests a second per connection (docs/limits.md): together they send at most 5 a second
 * upstream, and a provider's Retry-After seen by one pauses the connection on the other.
 */
describe.skipIf(POSTGRES.skip !== undefined)(
  `rate limits across two server processes on ${variantTitle(POSTGRES)}`,
  () => {
    let backend: FreshBackend;
    let store: OpenedServerStore;
    let upstream: PacedUpstream;
    let connectorsDir: string;
    let servers: ServeProcesses | undefined;
    let urls: readonly string[] = [];
    let key: string;
    let projectId: string;

    beforeAll(async () => {
      upstream = await startPacedUpstream();
      connectorsDir = mkdtempSync(join(tmpdir(), 'connectr-paced-'));
      writeFileSync(join(connectorsDir, 'paced.yaml'), PACED);
      backend = await POSTGRES.fresh();
      const env = {
        ...backend.env,
        CONNECTR_ENCRYPTION_KEY: newKey(),
        CONNECTR_CONNECTORS_DIR: connectorsDir,
        CONNECTR_PACED_API_BASE_URL: upstream.url,
      };
      store = await openServerStore({ env, dataDir: backend.dataDir, secrets: memorySecrets() });
      projectId = (await ensureProject(store.db, 'default')).project.id;
      key = (await createApiKey(store.db, { projectId, name: 'lb' })).secret;
      servers = await startServeProcesses(env, 2);
      urls = servers.urls;
    }, 150_000);

    afterAll(async () => {
      await servers?.stop();
      await store.close();
      await upstream.close();
      backend.cleanup();
      rmSync(connectorsDir, { recursive: true, force: true });
    });

    async function connection(name: string): Promise<string> {
      const made = await createConnection(store.db, { projectId, connector: 'paced', name });
      await putCredential(store.db, store.keys, {
        projectId,
        connectionId: made.id,
        secret: { api_key: 'k-1' },
        expiresAt: null,
      });
      return made.id;
    }
    const execute = (base: string, body: Record<string, unknown>): Promise<Response> =>
      fetch(`${base}/api/v1/proxy/execute`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    it('100 concurrent executes over both: at most 5 a second upstream, every other caller a 429 with Retry-After', async () => {
      const id = await connection('burst');
      upstream.arrivals.length = 0;
      const answers = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const response = await execute(urls[i % 2] ?? '', {
            connection_id: id,
            endpoint: 'ping',
            max_wait_ms: 2000,
          });
          const body = (await response.json()) as { error?: { code: string } };
          return {
            status: response.status,
            retryAfter: response.headers.get('retry-after'),
            code: body.error?.code,
          };
        }),
      );
      const ok = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 429);
      expect(ok.length + refused.length).toBe(100);
      for (const a of refused) {
        expect(a.code).toBe('rate_limited');
        expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
      }
      expect(ok.length).toBeGreaterThanOrEqual(9);
      const hits = upstream.arrivals.filter((a) => a.path === '/ping').map((a) => a.at);
      expect(hits).toHaveLength(ok.length);
      // Plus one: a turn's call leaves a few ms after it (docs/limits.md).
      const t0 = Math.min(...hits);
      expect(
        mostInWindow(hits, 1000),
        hits
          .map((h) => Math.round(h - t0))
          .sort((a, b) => a - b)
          .join(' '),
      ).toBeLessThanOrEqual(6);
    }, 60_000);

    it("the provider's 429 with Retry-After: 2 through one pauses the connection on the other", async () => {
      const id = await connection('crowded');
      upstream.arrivals.length = 0;
      upstream.crowdOnce(true);
      const first = execute(urls[0] ?? '', { connection_id: id, endpoint: 'crowded' });
      while (!upstream.arrivals.some((a) => a.path === '/crowded'))
        await new Promise((r) => setTimeout(r, 10));
      const limitedAt = upstream.arrivals[0]?.at ?? 0;
      await new Promise((r) => setTimeout(r, 200));
      const refused = await execute(urls[1] ?? '', { connection_id: id, endpoint: 'ping', max_wait_ms: 0 });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(upstream.arrivals.filter((a) => a.path === '/ping')).toEqual([]);
      expect((await execute(urls[1] ?? '', { connection_id: id, endpoint: 'ping' })).status).toBe(200);
      const ping = upstream.arrivals.find((a) => a.path === '/ping');
      expect((ping?.at ?? 0) - limitedAt).toBeGreaterThanOrEqual(1900);
      expect((await first).status).toBe(200);
    }, 60_000);
  },
);
