import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import { depsOf } from '../../src/server/contracts.js';
import type { App } from '../../src/server/types.js';
import { startProxy } from '../helpers/proxy.js';
import type { TestProxy } from '../helpers/proxy.js';
import { PGLITE } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';
import { KEYED_CONNECTOR } from '../helpers/keyed-connector.js';

/**
 * The daemon calls APIs (execute and the raw proxy alike) through the HTTP proxy its
 * environment names, as the CLI does (src/server/upstream.ts): a real forward proxy and a
 * real upstream on 127.0.0.1.
 */

describe('the daemon behind an HTTP proxy', () => {
  const upstream = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ key: req.headers['x-api-key'] ?? null, path: req.url }));
  });
  let proxy: TestProxy;
  let daemon: TestDaemon;
  let app: App;
  /** A second app whose proxy settings differ, so it has its own agent (and tunnel). */
  let rawApp: App;
  let apiKey = '';
  let connection = '';
  let upstreamHost = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamHost = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    proxy = await startProxy();
    const env = { CONNECTR_KEYED_API_BASE_URL: `http://${upstreamHost}`, HTTP_PROXY: proxy.url };
    const quiet = { log: { level: 'silent' as const, stream: { write: () => true } } };
    daemon = await withServer({ backend: PGLITE, connectors: { keyed: KEYED_CONNECTOR }, env, app: quiet });
    app = daemon.app;
    apiKey = await daemon.key(await daemon.project('default'), { name: 'proxy' });
    rawApp = await buildApp(
      depsOf(daemon.store, daemon.registry, { ...env, NO_PROXY: 'example.invalid' }),
      quiet,
    );
    const auth = { authorization: `Bearer ${apiKey}` };
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/connections',
      headers: auth,
      payload: { connector_type: 'keyed', name: 'behind a proxy' },
    });
    connection = created.json<{ id: string }>().id;
    await app.inject({
      method: 'PUT',
      url: `/api/v1/connections/${connection}/credentials`,
      headers: auth,
      payload: { api_key: 'proxied-key' },
    });
  }, 60_000);

  afterAll(async () => {
    await rawApp.close();
    await daemon.close();
    await proxy.close();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it('execute and the raw proxy both go through HTTP_PROXY', async () => {
    const auth = { authorization: `Bearer ${apiKey}` };
    expect(proxy.targets).toEqual([]);
    const executed = await app.inject({
      method: 'POST',
      url: '/api/v1/proxy/execute',
      headers: auth,
      payload: { connection_id: connection, endpoint: 'whoami' },
    });
    expect(executed.statusCode, executed.body).toBe(200);
    expect(executed.json<{ body: unknown }>().body).toEqual({ key: 'proxied-key', path: '/whoami' });
    // undici tunnels through the proxy (CONNECT), even to http:// hosts.
    expect(proxy.targets).toEqual([`CONNECT ${upstreamHost}`]);

    const raw = await rawApp.inject({ url: `/api/v1/connections/${connection}/proxy/whoami`, headers: auth });
    expect(raw.statusCode, raw.body).toBe(200);
    expect(raw.json()).toEqual({ key: 'proxied-key', path: '/whoami' });
    expect(proxy.targets).toEqual([`CONNECT ${upstreamHost}`, `CONNECT ${upstreamHost}`]);
  });
});
