import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/core/connector/registry.js';
import type { Registry } from '../../src/core/connector/registry.js';
import { buildApp } from '../../src/server/app.js';
import { depsOf } from '../../src/server/contracts.js';
import type { ErrorEnvelope } from '../../src/server/errors.js';
import type { ConnectionJson } from '../../src/server/routes/connections/shape.js';
import { createConnection, updateConnection } from '../../src/server/store/connections.js';
import type { App } from '../../src/server/types.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * Connections pinned to a connector version, on PGlite and PostgreSQL: a connection made while
 * only version 1 was loaded keeps calling version 1's paths once the server restarts with
 * version 2 beside it (the upstream records every path), PATCH moves it, and a move to a version
 * asking for scopes the connection was not granted is refused naming them.
 */

const KEY = 'svc-upstream-key-SECRET';

/** `svc` at `version`: its endpoints' paths start with /v<version>. */
function svc(version: number): string {
  return `name: svc
display_name: Svc
version: ${version}
docs_url: https://example.com/docs
description: Test service.
hosts:
  api: https://api.example.com
auth:
  type: api_key
  in: header
  name: X-Api-Key
health:
  endpoint: me
endpoints:
  me:
    summary: Who am I.
    method: GET
    path: /v${version}/me
${version > 1 ? `  items:\n    summary: Items.\n    method: GET\n    path: /v${version}/items\n` : ''}`;
}

/** `oa` at `version`, asking for `scopes` at sign-in. */
function oa(version: number, scopes: readonly string[]): string {
  return `name: oa
display_name: Oa
version: ${version}
docs_url: https://example.com/docs
description: Test OAuth service.
hosts:
  api: https://oa.example.com
auth:
  type: oauth2
  authorization_url: https://oa.example.com/authorize
  token_url: https://oa.example.com/token
  scopes: [${scopes.join(', ')}]
endpoints:
  me:
    summary: Who am I.
    method: GET
    path: /me
`;
}

/** An upstream that records the path of each request and answers {ok: true}. */
class Upstream {
  readonly paths: string[] = [];
  private readonly server: Server = createServer((req, res) => {
    this.paths.push(req.url ?? '');
    const ok = req.headers['x-api-key'] === KEY;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }));
  });
  url = '';
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A registry of the built-ins and `files` (file name to YAML), which must all be valid. */
async function registryOf(dir: string, files: Record<string, string>): Promise<Registry> {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, `${name}.yaml`), text);
  const registry = await loadRegistry({ extraDirs: [dir] });
  if (registry.invalid.length > 0) throw new Error(JSON.stringify(registry.invalid));
  return registry;
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`connector versions on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    /** The same database served again after version 2 was added (a restart with the new file). */
    let restarted: App;
    let key: string;
    let otherKey: string;
    let projectId: string;
    const upstream = new Upstream();
    const dirs: string[] = [];

    beforeAll(async () => {
      await upstream.start();
      const before = mkdtempSync(join(tmpdir(), 'connectr-versions-'));
      const after = mkdtempSync(join(tmpdir(), 'connectr-versions-'));
      dirs.push(before, after);
      const env = {
        CONNECTR_SVC_API_BASE_URL: upstream.url,
        CONNECTR_OA_API_BASE_URL: upstream.url,
        OA_CLIENT_ID: 'oa-client',
      };
      daemon = await withServer({
        backend: variant,
        connectors: await registryOf(before, { svc: svc(1), oa: oa(1, ['read', 'legacy']) }),
        env,
      });
      const both = await registryOf(after, {
        'svc@1': svc(1),
        svc: svc(2),
        'oa@1': oa(1, ['read', 'legacy']),
        oa: oa(2, ['read', 'write']),
      });
      restarted = await buildApp(depsOf(daemon.store, both, env), {
        log: { level: 'silent', stream: { write: () => true } },
      });
      projectId = await daemon.project('alpha');
      key = await daemon.key(projectId);
      otherKey = await daemon.key(await daemon.project('beta'));
    }, 60_000);

    afterAll(async () => {
      await restarted.close();
      await daemon.close();
      await upstream.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    const call = (
      app: App,
      options: InjectOptions & { payload?: unknown },
      as = key,
    ): Promise<LightMyRequestResponse> =>
      app.inject({ ...options, headers: { authorization: `Bearer ${as}`, ...options.headers } });
    const errorOf = (res: LightMyRequestResponse): ErrorEnvelope['error'] => res.json<ErrorEnvelope>().error;
    const create = async (app: App, body: Record<string, unknown>): Promise<ConnectionJson> => {
      const res = await call(app, { method: 'POST', url: '/api/v1/connections', payload: body });
      expect(res.statusCode, res.body).toBe(201);
      const made = res.json<ConnectionJson>();
      const put = await call(app, {
        method: 'PUT',
        url: `/api/v1/connections/${made.id}/credentials`,
        payload: { api_key: KEY },
      });
      expect(put.statusCode, put.body).toBe(200);
      return made;
    };
    /** The path upstream saw for one execute of `endpoint` through the connection. */
    const pathOf = async (id: string, endpoint = 'me'): Promise<string | undefined> => {
      const res = await call(restarted, {
        method: 'POST',
        url: '/api/v1/proxy/execute',
        payload: { connection_id: id, endpoint },
      });
      expect(res.statusCode, res.body).toBe(200);
      return upstream.paths.at(-1);
    };
    const patch = (id: string, body: object, as = key): Promise<LightMyRequestResponse> =>
      call(restarted, { method: 'PATCH', url: `/api/v1/connections/${id}`, payload: body }, as);

    it("a connection made before version 2 keeps calling version 1's path after it is loaded; PATCH moves it", async () => {
      const old = await create(daemon.app, { connector_type: 'svc', name: 'old' });
      expect(old.connector_version).toBe(1);

      expect(await pathOf(old.id)).toBe('/v1/me');
      const fresh = await create(restarted, { connector_type: 'svc', name: 'new' });
      expect(fresh.connector_version).toBe(2);
      expect(await pathOf(fresh.id)).toBe('/v2/me');
      // The raw proxy and the health check go by the pinned version too.
      const check = await call(restarted, { method: 'POST', url: `/api/v1/connections/${old.id}/check` });
      expect(check.statusCode, check.body).toBe(200);
      expect(upstream.paths.at(-1)).toBe('/v1/me');
      // Version 1 has no items endpoint: the pinned connection does not see version 2's.
      const missing = await call(restarted, {
        method: 'POST',
        url: '/api/v1/proxy/execute',
        payload: { connection_id: old.id, endpoint: 'items' },
      });
      expect(missing.statusCode).toBe(400);
      expect(errorOf(missing).message).toBe('svc has no endpoint "items"');

      const moved = await patch(old.id, { connector_version: 2 });
      expect(moved.statusCode, moved.body).toBe(200);
      expect(moved.json<ConnectionJson>()).toMatchObject({ id: old.id, connector_version: 2 });
      expect(await pathOf(old.id)).toBe('/v2/me');
      expect(await pathOf(old.id, 'items')).toBe('/v2/items');
      const shown = await call(restarted, { url: `/api/v1/connections/${old.id}` });
      expect(shown.json<ConnectionJson>().connector_version).toBe(2);

      const back = await patch(old.id, { connector_version: 1 });
      expect(back.json<ConnectionJson>().connector_version).toBe(1);
      expect(await pathOf(old.id)).toBe('/v1/me');
    });

    it("MCP with a chosen connection lists its version's tools", async () => {
      const pinned = await create(restarted, { connector_type: 'svc', name: 'mcp', connector_version: 1 });
      const tools = async (id?: string): Promise<string[]> => {
        const res = await call(restarted, {
          method: 'POST',
          url: id === undefined ? '/mcp' : `/mcp?connection_id=${id}`,
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        });
        expect(res.statusCode, res.body).toBe(200);
        return res.json<{ result: { tools: { name: string }[] } }>().result.tools.map((t) => t.name);
      };
      const own = await tools(pinned.id);
      expect(own.some((name) => name.includes('me'))).toBe(true);
      expect(own.some((name) => name.includes('items'))).toBe(false);
      expect((await tools()).some((name) => name.includes('svc') && name.includes('items'))).toBe(true);
    });

    it('POST takes connector_version; an unknown one is a 400 naming it and listing the loaded ones', async () => {
      const pinned = await create(restarted, { connector_type: 'svc', name: 'pinned', connector_version: 1 });
      expect(pinned.connector_version).toBe(1);
      expect(await pathOf(pinned.id)).toBe('/v1/me');

      const res = await call(restarted, {
        method: 'POST',
        url: '/api/v1/connections',
        payload: { connector_type: 'svc', name: 'x', connector_version: 3 },
      });
      expect(res.statusCode).toBe(400);
      expect(errorOf(res)).toMatchObject({
        message: 'connector svc has no version 3',
        details: [{ field: 'body.connector_version', message: 'connector svc has no version 3' }],
        hint: expect.stringContaining('loaded versions of svc: 2, 1') as string,
      });
    });

    it('GET /connectors/{name}/versions lists the loaded versions, newest first', async () => {
      const res = await call(restarted, { url: '/api/v1/connectors/oa/versions' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({
        connector: 'oa',
        newest: 2,
        versions: [
          { version: 2, scopes: ['read', 'write'], endpoint_count: 1 },
          { version: 1, scopes: ['read', 'legacy'], endpoint_count: 1 },
        ],
      });
      const unknown = await call(restarted, { url: '/api/v1/connectors/svx/versions' });
      expect(unknown.statusCode).toBe(404);
      expect(errorOf(unknown).hint).toMatch(/did you mean "svc"/);
      for (const hostile of ['..%2F..', '%00', 'A'.repeat(80)]) {
        const bad = await call(restarted, { url: `/api/v1/connectors/${hostile}/versions` });
        expect(bad.statusCode, hostile).toBe(400);
      }
    });

    it('PATCH is refused, naming the missing scopes, when the new version needs scopes not granted', async () => {
      const row = await createConnection(daemon.store.db, {
        projectId,
        connector: 'oa',
        connectorVersion: 1,
        name: 'signed in',
      });
      await updateConnection(daemon.store.db, projectId, row.id, { status: 'active', scopes: ['read'] });
      const refused = await patch(row.id, { connector_version: 2 });
      expect(refused.statusCode, refused.body).toBe(409);
      expect(errorOf(refused)).toMatchObject({
        code: 'conflict',
        message: `connection ${row.id} cannot move to oa version 2: that version needs scopes the connection was not granted: write`,
      });
      expect(errorOf(refused).details).toEqual([{ message: 'missing scope: write' }]);
      expect(errorOf(refused).hint).toMatch(/sign the connection in again/);
      const still = await call(restarted, { url: `/api/v1/connections/${row.id}` });
      expect(still.json<ConnectionJson>().connector_version).toBe(1);

      // Granted now (signed in again): the move goes through.
      await updateConnection(daemon.store.db, projectId, row.id, { scopes: ['read', 'write'] });
      const moved = await patch(row.id, { connector_version: 2 });
      expect(moved.statusCode, moved.body).toBe(200);

      // A connection not signed in yet gets its scopes at sign-in: nothing to refuse.
      const pending = await createConnection(daemon.store.db, {
        projectId,
        connector: 'oa',
        connectorVersion: 1,
        name: 'pending',
      });
      expect((await patch(pending.id, { connector_version: 2 })).statusCode).toBe(200);
    });

    it("a sign-in asks for the scopes of the connection's version and of the newest", async () => {
      const scopesAsked = async (connectorVersion: number): Promise<string[]> => {
        const made = (
          await call(restarted, {
            method: 'POST',
            url: '/api/v1/connections',
            payload: { connector_type: 'oa', name: 'sign-in', connector_version: connectorVersion },
          })
        ).json<ConnectionJson>();
        const res = await call(restarted, {
          method: 'POST',
          url: '/api/v1/oauth/authorize',
          payload: { connection_id: made.id, redirect_uri: 'https://app.example.com/oauth' },
        });
        expect(res.statusCode, res.body).toBe(200);
        const url = new URL(res.json<{ authorization_url: string }>().authorization_url);
        return (url.searchParams.get('scope') ?? '').split(' ').sort();
      };
      expect(await scopesAsked(1)).toEqual(['legacy', 'read', 'write']);
      expect(await scopesAsked(2)).toEqual(['read', 'write']);
    });

    it('refuses hostile PATCH bodies with a 400 naming the field, and other projects with a 404', async () => {
      const made = await create(restarted, { connector_type: 'svc', name: 'target', connector_version: 1 });
      const cases: object[] = [
        {},
        { connector_version: 0 },
        { connector_version: -1 },
        { connector_version: 1.5 },
        { connector_version: '2' },
        { connector_version: null },
        { connector_version: 1e12 },
        { connector_version: 2, connector_type: 'oa' },
      ];
      for (const body of cases) {
        const res = await patch(made.id, body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(errorOf(res).code, JSON.stringify(body)).toBe('invalid_input');
      }
      const unknown = await patch(made.id, { connector_version: 7 });
      expect(unknown.statusCode).toBe(400);
      expect(errorOf(unknown)).toMatchObject({
        message: 'connector svc has no version 7',
        details: [{ field: 'body.connector_version' }],
      });
      expect((await patch(made.id, { connector_version: 2 }, otherKey)).statusCode).toBe(404);
      expect((await patch('conn_nope', { connector_version: 2 })).statusCode).toBe(404);
      const shown = await call(restarted, { url: `/api/v1/connections/${made.id}` });
      expect(shown.json<ConnectionJson>().connector_version).toBe(1);
    });

    it('a connection pinned to a version no longer loaded is a 409 that says how to move it', async () => {
      const row = await createConnection(daemon.store.db, {
        projectId,
        connector: 'svc',
        connectorVersion: 5,
        name: 'orphan',
      });
      const res = await call(restarted, {
        method: 'POST',
        url: '/api/v1/proxy/execute',
        payload: { connection_id: row.id, endpoint: 'me' },
      });
      expect(res.statusCode).toBe(409);
      expect(errorOf(res)).toMatchObject({
        message: `connection ${row.id} uses svc version 5, which this server no longer loads (loaded: 2, 1)`,
        hint: expect.stringContaining(
          `PATCH /api/v1/connections/${row.id} {"connector_version": 2}`,
        ) as string,
      });
    });
  });
}
