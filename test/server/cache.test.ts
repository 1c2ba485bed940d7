import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/core/connector/registry.js';
import type { Registry } from '../../src/core/connector/registry.js';
import { buildApp } from '../../src/server/app.js';
import { depsOf } from '../../src/server/contracts.js';
import { createApiKey, revokeApiKey } from '../../src/server/store/api-keys.js';
import { listenForChanges } from '../../src/server/store/notify.js';
import { openServerStore } from '../../src/server/store/open.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import type { App } from '../../src/server/types.js';
import type { FreshBackend } from '../helpers/server-store.js';
import {
  BACKENDS,
  CacheClock,
  POSTGRES,
  memorySecrets,
  newKey,
  variantTitle,
} from '../helpers/server-store.js';
import { KEYED_CONNECTOR } from '../helpers/keyed-connector.js';

/**
 * What a server instance keeps of the database between requests (src/server/cache): an API
 * key's identity and a connection with its credential. Its own changes are seen at once; a
 * change made elsewhere (another instance, `serve keys revoke`) once the cache time
 * (CONNECTR_CACHE_MS) has passed, never later. The upstream is a real HTTP server on
 * 127.0.0.1 that answers with the API key it was sent.
 */

interface Instance {
  readonly store: OpenedServerStore;
  readonly app: App;
  readonly clock: CacheClock;
}

const upstream = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ key: req.headers['x-api-key'] ?? null }));
});
let upstreamUrl = '';
let connectorsDir = '';
let registry: Registry;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  connectorsDir = mkdtempSync(join(tmpdir(), 'connectr-cache-'));
  writeFileSync(join(connectorsDir, 'keyed.yaml'), KEYED_CONNECTOR);
  registry = await loadRegistry({ extraDirs: [connectorsDir] });
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
  rmSync(connectorsDir, { recursive: true, force: true });
});

async function instance(
  backend: FreshBackend,
  encryptionKey: string,
  env: Record<string, string> = {},
  listen = true,
): Promise<Instance> {
  const clock = new CacheClock();
  const store = await openServerStore({
    env: { ...backend.env, CONNECTR_ENCRYPTION_KEY: encryptionKey, ...env },
    dataDir: backend.dataDir,
    secrets: memorySecrets(),
    now: clock.now,
  });
  const app = await buildApp(depsOf(store, registry, { CONNECTR_KEYED_API_BASE_URL: upstreamUrl }), {
    log: { level: 'silent', stream: { write: () => true } },
    listen,
  });
  return { store, app, clock };
}

async function close(...instances: Instance[]): Promise<void> {
  for (const { app, store } of instances) {
    await app.close();
    await store.close();
  }
}

interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

async function request(
  on: Instance,
  apiKey: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  payload?: Record<string, unknown>,
): Promise<Answer> {
  const res = await on.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${apiKey}` },
    ...(payload ? { payload } : {}),
  });
  return { status: res.statusCode, json: res.json<Record<string, unknown>>() };
}

/** The key the upstream was sent for a call through `connection` on `on`, or the error code. */
async function keySent(on: Instance, apiKey: string, connection: string): Promise<unknown> {
  const res = await request(on, apiKey, 'POST', '/api/v1/proxy/execute', {
    connection_id: connection,
    endpoint: 'whoami',
  });
  if (res.status !== 200) return (res.json.error as { code?: string } | undefined)?.code ?? res.status;
  return (res.json.body as { key: unknown }).key;
}

async function connectionWithKey(on: Instance, apiKey: string, secret: string): Promise<string> {
  const created = await request(on, apiKey, 'POST', '/api/v1/connections', {
    connector_type: 'keyed',
    name: 'cached',
  });
  expect(created.status).toBe(201);
  const id = created.json.id as string;
  expect(
    (await request(on, apiKey, 'PUT', `/api/v1/connections/${id}/credentials`, { api_key: secret })).status,
  ).toBe(200);
  return id;
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`the instance cache on ${variantTitle(variant)}`, () => {
    let backend: FreshBackend;
    let a: Instance;
    let apiKey: string;

    beforeAll(async () => {
      backend = await variant.fresh();
      a = await instance(backend, newKey());
      const { project } = await ensureProject(a.store.db, 'default');
      apiKey = (await createApiKey(a.store.db, { projectId: project.id, name: 'cache' })).secret;
    }, 60_000);
    afterAll(async () => {
      await close(a);
      backend.cleanup();
    });

    it("an instance's own changes are seen at once: new credentials, a deleted connection", async () => {
      const id = await connectionWithKey(a, apiKey, 'first-key');
      expect(await keySent(a, apiKey, id)).toBe('first-key');
      expect(
        (await request(a, apiKey, 'PUT', `/api/v1/connections/${id}/credentials`, { api_key: 'second-key' }))
          .status,
      ).toBe(200);
      expect(await keySent(a, apiKey, id)).toBe('second-key');
      expect((await request(a, apiKey, 'DELETE', `/api/v1/connections/${id}`)).status).toBe(200);
      expect(await keySent(a, apiKey, id)).toBe('not_found');
    });

    it('tells other instances of its changes on PostgreSQL only: PGlite has one process', async () => {
      const { counts } = a.store.caches.notices;
      const sent = counts.sent;
      const id = await connectionWithKey(a, apiKey, 'told');
      expect(await keySent(a, apiKey, id)).toBe('told');
      expect(counts.sent - sent).toBe(variant.name === 'postgres' ? 1 : 0);
      const log = { warn: () => undefined, info: () => undefined };
      const settings = { DATABASE_URL: backend.env.DATABASE_URL, CONNECTR_DB_CONNECT_TIMEOUT_MS: 5000 };
      const listener = listenForChanges(a.store.database, a.store.caches.notices, settings, log);
      expect(listener === undefined).toBe(variant.name === 'pglite');
      await listener?.stop();
    });

    it('a bad CONNECTR_CACHE_MS stops the start, naming the variable', async () => {
      await expect(instance(backend, newKey(), { CONNECTR_CACHE_MS: '2s' })).rejects.toThrow(
        /CONNECTR_CACHE_MS must be a whole number \(0 or more\) \(found "2s"\)/,
      );
    });
  });
}

/**
 * The fallback when no message of the other instances arrives (a dropped listening connection;
 * test/server/notify.test.ts has the messages): these instances do not listen.
 */
describe.skipIf(POSTGRES.skip !== undefined)(`two instances on one ${variantTitle(POSTGRES)}`, () => {
  let backend: FreshBackend;
  let a: Instance;
  let b: Instance;
  let uncached: Instance;
  let apiKey: string;
  let projectId: string;

  beforeAll(async () => {
    backend = await POSTGRES.fresh();
    const encryptionKey = newKey();
    a = await instance(backend, encryptionKey, {}, false);
    b = await instance(backend, encryptionKey, {}, false);
    uncached = await instance(backend, encryptionKey, { CONNECTR_CACHE_MS: '0' }, false);
    projectId = (await ensureProject(a.store.db, 'default')).project.id;
    apiKey = (await createApiKey(a.store.db, { projectId, name: 'cache' })).secret;
  }, 60_000);
  afterAll(async () => {
    await close(a, b, uncached);
    backend.cleanup();
  });

  it("another instance's new credential is used once the cache time has passed", async () => {
    const id = await connectionWithKey(a, apiKey, 'old-key');
    // A connection made on another instance is usable at once: a miss is never kept.
    expect(await keySent(b, apiKey, id)).toBe('old-key');
    await request(a, apiKey, 'PUT', `/api/v1/connections/${id}/credentials`, { api_key: 'new-key' });
    expect(await keySent(a, apiKey, id)).toBe('new-key');
    expect(await keySent(b, apiKey, id)).toBe('old-key');
    expect(await keySent(uncached, apiKey, id)).toBe('new-key');
    b.clock.pass();
    expect(await keySent(b, apiKey, id)).toBe('new-key');
  });

  it('a connection deleted on another instance stops working once the cache time has passed', async () => {
    const id = await connectionWithKey(a, apiKey, 'some-key');
    expect(await keySent(b, apiKey, id)).toBe('some-key');
    expect((await request(a, apiKey, 'DELETE', `/api/v1/connections/${id}`)).status).toBe(200);
    expect(await keySent(b, apiKey, id)).toBe('some-key');
    b.clock.pass();
    expect(await keySent(b, apiKey, id)).toBe('not_found');
  });

  it('a revoked API key is refused once the cache time has passed, by every instance', async () => {
    const revoked = await createApiKey(a.store.db, { projectId, name: 'to revoke' });
    for (const on of [a, b, uncached])
      expect((await request(on, revoked.secret, 'GET', '/api/v1/connectors')).status).toBe(200);
    await revokeApiKey(a.store.db, revoked.id);
    expect((await request(uncached, revoked.secret, 'GET', '/api/v1/connectors')).status).toBe(401);
    expect((await request(b, revoked.secret, 'GET', '/api/v1/connectors')).status).toBe(200);
    a.clock.pass();
    b.clock.pass();
    for (const on of [a, b])
      expect((await request(on, revoked.secret, 'GET', '/api/v1/connectors')).status).toBe(401);
  });
});
