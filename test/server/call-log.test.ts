import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import type { SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallLogOptions } from '../../src/server/call-log/open.js';
import type { OAuthSecret } from '../../src/server/oauth/flow.js';
import { putCredential } from '../../src/server/store/credentials.js';
import { spanModuleLoaded } from '../../src/server/telemetry/otlp.js';
import { BACKENDS, POSTGRES, variantTitle } from '../helpers/server-store.js';
import { callApi, withServer } from '../helpers/server.js';
import type { ApiAnswer, TestDaemon } from '../helpers/server.js';

/**
 * The call log on the real store (PGlite, and PostgreSQL where it exists), through a real
 * socket: a test run of execute, raw-proxy and MCP calls (successes, an upstream error, a
 * retried call, a refused one) each leaves one row with the right fields; no row holds a token
 * (every column of every row is scanned for each secret the run used); the two routes filter,
 * page and refuse hostile input naming the field; old rows are pruned; rows held in memory are
 * written at shutdown.
 */

const API_KEY = 'logkey-SECRET-api-1';
const ACCESS_TOKEN = 'access-SECRET-token-2';
const REFRESH_TOKEN = 'refresh-SECRET-token-3';
const SECRET_PARAM = 'passphrase-SECRET-4';
const TOKEN_IN_QUERY = 'tok-SECRET-5';
const SECRETS = [API_KEY, ACCESS_TOKEN, REFRESH_TOKEN, SECRET_PARAM, TOKEN_IN_QUERY];

/** Stands in for the provider: api-key-in-query calls under /q, bearer calls under /o. */
class Upstream {
  readonly seen: string[] = [];
  private flaky = 0;
  private readonly server: Server = createServer((req, res) => {
    this.handle(req, res);
  });
  origin = '';

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    this.seen.push(`${req.method ?? ''} ${url}`);
    const path = url.split('?')[0] ?? '';
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(text)),
          ...headers,
        });
        res.end(text);
      };
      if (path.startsWith('/o/') && req.headers.authorization !== `Bearer ${ACCESS_TOKEN}`) {
        json(401, { error: 'invalid_token' });
        return;
      }
      if (path.startsWith('/q/') && new URL(url, 'http://x').searchParams.get('key') !== API_KEY) {
        json(401, { error: 'bad key' });
        return;
      }
      if (path.endsWith('/chunked')) {
        // No Content-Length: the proxy counts the bytes as they pass.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('x'.repeat(1000));
        setTimeout(() => res.end('y'.repeat(234)), 5);
      } else if (path.endsWith('/fail')) json(500, { error: 'upstream broke' });
      else if (path.endsWith('/flaky') && this.flaky++ % 2 === 0)
        json(503, { error: 'busy' }, { 'retry-after': '0' });
      else json(200, { ok: true, path, bytes });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const head = (name: string): string =>
  `name: ${name}\ndisplay_name: ${name}\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\nhosts:\n  api: https://${name}.example.com/api\n`;
const ENDPOINTS = `rate_limit:
  retry_statuses: [503]
endpoints:
  get_item:
    summary: One item.
    method: GET
    path: /items/{id}
    params:
      id:
        in: path
        required: true
  search:
    summary: Search.
    method: GET
    path: /search
    params:
      passphrase:
        in: query
        secret: true
  fail:
    summary: Always fails upstream.
    method: GET
    path: /fail
  flaky:
    summary: Busy the first time.
    method: GET
    path: /flaky
  upload:
    summary: Upload.
    method: POST
    path: /upload
    params:
      name:
        in: body
`;
const CONNECTORS = {
  logq: `${head('logq')}auth:\n  type: api_key\n  in: query\n  name: key\n${ENDPOINTS}`,
  logo: `${head('logo')}auth:\n  type: oauth2\n  grants: [authorization_code]\n  authorization_url: https://auth.example.com/authorize\n  token_url: https://auth.example.com/token\n  scopes: [read]\n  client_auth: post\n  client_id_env: LOGO_CLIENT_ID\n${ENDPOINTS}`,
};

interface LogEntry {
  at: string;
  connection_id: string;
  connector: string;
  connector_version: number | null;
  kind: string;
  endpoint: string | null;
  method: string | null;
  path: string | null;
  status: number | null;
  duration_ms: number;
  bytes_sent: number | null;
  bytes_received: number | null;
  retries: number;
  error_code: string | null;
  request_id: string;
}
interface LogPage {
  logs: LogEntry[];
  next_cursor: string | null;
  follow_cursor: string;
}

/** The rows of a query, as both back-ends' drivers give them. */
async function rowsOf(daemon: TestDaemon, query: SQL): Promise<Record<string, unknown>[]> {
  const result = (await daemon.store.db.execute(query)) as { rows: Record<string, unknown>[] };
  return result.rows;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`call log on ${variantTitle(variant)}`, () => {
    const upstream = new Upstream();
    let daemon: TestDaemon;
    /** The server's clock, moved on by the pruning test. */
    let offset = 0;
    let key = '';
    let otherKey = '';
    const ids = { q: '', o: '', unsigned: '', other: '' };

    const api = (method: string, path: string, body?: unknown, apiKey = key): Promise<ApiAnswer> =>
      callApi(daemon.base, method, path, apiKey, body);
    const page = async (path: string, apiKey = key): Promise<LogPage> => {
      const res = await api('GET', path, undefined, apiKey);
      expect(res.status, res.text).toBe(200);
      return res.json as unknown as LogPage;
    };
    const execute = (connection: string, endpoint: string, params: Record<string, unknown> = {}) =>
      api('POST', '/api/v1/proxy/execute', { connection_id: connection, endpoint, params });
    // A hijacked MCP answer carries no x-request-id of its own: the caller's id is the call's.
    let mcpCalls = 0;
    const mcp = async (
      connection: string,
      tool: string,
      args: Record<string, unknown>,
    ): Promise<{ status: number; headers: Headers; text: string }> => {
      const requestId = `mcp-call-${++mcpCalls}`;
      const res = await fetch(`${daemon.base}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'connection-id': connection,
          'x-request-id': requestId,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: tool, arguments: args },
        }),
      });
      return {
        status: res.status,
        headers: new Headers({ 'x-request-id': requestId }),
        text: await res.text(),
      };
    };

    beforeAll(async () => {
      await upstream.start();
      daemon = await withServer({
        backend: variant,
        connectors: CONNECTORS,
        env: {
          CONNECTR_LOGQ_API_BASE_URL: `${upstream.origin}/q`,
          CONNECTR_LOGO_API_BASE_URL: `${upstream.origin}/o`,
          LOGO_CLIENT_ID: 'logo-client',
        },
        now: () => Date.now() + offset,
        app: { callLog: { flushMs: 20, pruneEveryMs: 50 } },
        listen: true,
      });
      const project = await daemon.project('alpha');
      const other = await daemon.project('beta');
      key = await daemon.key(project);
      otherKey = await daemon.key(other);
      ids.q = await daemon.connection(project, { connector: 'logq', secret: { api_key: API_KEY } });
      ids.o = await daemon.connection(project, { connector: 'logo' });
      await putCredential(daemon.store.db, daemon.store.keys, {
        projectId: project,
        connectionId: ids.o,
        secret: {
          access_token: ACCESS_TOKEN,
          refresh_token: REFRESH_TOKEN,
          token_type: 'Bearer',
          scopes: ['read'],
          expires_at: new Date(Date.now() + 3_600_000).toISOString(),
        } satisfies OAuthSecret,
        expiresAt: new Date(Date.now() + 3_600_000),
      });
      ids.unsigned = await daemon.connection(project, { connector: 'logo', name: 'never signed in' });
      ids.other = await daemon.connection(other, { connector: 'logq', secret: { api_key: API_KEY } });
    });
    afterAll(async () => {
      await daemon.close();
      await upstream.close();
    });

    it('records every execute, raw-proxy and MCP call of a run with its fields, and no token in any column of any row', async () => {
      const made: { res: { status: number; headers: Headers }; expect: Partial<LogEntry> }[] = [];
      const record = (res: { status: number; headers: Headers }, expected: Partial<LogEntry>): void => {
        made.push({ res, expect: expected });
      };
      record(await execute(ids.q, 'get_item', { id: 'a1' }), {
        kind: 'execute',
        connection_id: ids.q,
        connector: 'logq',
        endpoint: 'get_item',
        method: null,
        path: null,
        status: 200,
        retries: 0,
        error_code: null,
        bytes_sent: 0,
      });
      record(await execute(ids.o, 'fail'), {
        kind: 'execute',
        connector: 'logo',
        endpoint: 'fail',
        status: 500,
      });
      record(await execute(ids.o, 'flaky'), { kind: 'execute', endpoint: 'flaky', status: 200, retries: 1 });
      record(await execute(ids.o, 'upload', { name: 'n'.repeat(40) }), {
        kind: 'execute',
        endpoint: 'upload',
        status: 200,
        bytes_sent: JSON.stringify({ name: 'n'.repeat(40) }).length,
      });
      // Refused: the connection was never signed in; nothing goes upstream.
      const refused = await execute(ids.unsigned, 'get_item', { id: 'x' });
      expect(refused.status, refused.text).toBe(409);
      record(refused, {
        kind: 'execute',
        connection_id: ids.unsigned,
        status: null,
        error_code: 'needs_reauth',
      });
      record(await execute(ids.q, 'search', { passphrase: SECRET_PARAM }), {
        endpoint: 'search',
        status: 200,
      });

      const raw = await fetch(
        `${daemon.base}/api/v1/connections/${ids.q}/proxy/search?passphrase=${SECRET_PARAM}&token=${TOKEN_IN_QUERY}&page=2&Token[]=${TOKEN_IN_QUERY}&%70assphrase=${SECRET_PARAM};access.token=${TOKEN_IN_QUERY}&PassPhrase=${SECRET_PARAM}`,
        { headers: { authorization: `Bearer ${key}` } },
      );
      const rawText = await raw.text();
      expect(raw.status, rawText).toBe(200);
      record(raw, {
        kind: 'proxy',
        endpoint: null,
        method: 'GET',
        path: '/search?passphrase=[REDACTED]&token=[REDACTED]&page=2&Token[]=[REDACTED]&%70assphrase=[REDACTED];access.token=[REDACTED]&PassPhrase=[REDACTED]',
        status: 200,
        bytes_received: Buffer.byteLength(rawText),
        bytes_sent: 0,
      });
      const upload = await fetch(`${daemon.base}/api/v1/connections/${ids.o}/proxy/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(1234, 1),
      });
      await upload.text();
      record(upload, { kind: 'proxy', method: 'POST', path: '/upload', status: 200, bytes_sent: 1234 });
      const rawFail = await fetch(`${daemon.base}/api/v1/connections/${ids.o}/proxy/fail`, {
        headers: { authorization: `Bearer ${key}` },
      });
      await rawFail.text();
      record(rawFail, { kind: 'proxy', path: '/fail', status: 500, error_code: null });
      const chunked = await fetch(`${daemon.base}/api/v1/connections/${ids.o}/proxy/chunked`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(await chunked.text()).toHaveLength(1234);
      expect(chunked.headers.get('content-length')).toBeNull();
      record(chunked, { kind: 'proxy', path: '/chunked', status: 200, bytes_received: 1234 });

      const tool = await mcp(ids.q, 'logq_get_item', { id: 'm1' });
      expect(tool.text).toContain('m1');
      record(tool, { kind: 'mcp', endpoint: 'get_item', status: 200, error_code: null });
      const toolFail = await mcp(ids.o, 'logo_fail', {});
      expect(toolFail.text).toContain('isError');
      record(toolFail, { kind: 'mcp', endpoint: 'fail', status: 500, error_code: null });
      const toolRefused = await mcp(ids.unsigned, 'logo_get_item', { id: 'z' });
      expect(toolRefused.text).toContain('isError');
      record(toolRefused, { kind: 'mcp', status: null, error_code: 'needs_reauth' });

      const ours = new Set(made.map((m) => m.res.headers.get('x-request-id')));
      expect(ours.size).toBe(made.length);
      const seen = await until(
        () => page('/api/v1/logs?limit=500'),
        (p) => p.logs.filter((l) => ours.has(l.request_id)).length >= made.length,
        'every call in the log',
      );
      for (const { res, expect: expected } of made) {
        const rows = seen.logs.filter((l) => l.request_id === res.headers.get('x-request-id'));
        expect(rows, JSON.stringify(expected)).toHaveLength(1);
        const row = rows[0];
        expect(row).toMatchObject(expected);
        expect(row?.connector_version).toBe(1);
        expect(row?.duration_ms).toBeGreaterThanOrEqual(0);
        expect(Date.parse(row?.at ?? '')).toBeGreaterThan(Date.now() - 60_000);
      }
      // Newest first.
      const times = seen.logs.map((l) => Date.parse(l.at));
      expect(times[0]).toBeGreaterThanOrEqual(times.at(-1) ?? 0);

      // Every column of every row, read from the table itself.
      const dump = JSON.stringify(await rowsOf(daemon, sql`select * from call_logs`));
      expect(dump.length).toBeGreaterThan(100);
      for (const secret of [...SECRETS, key, otherKey]) expect(dump).not.toContain(secret);
      expect(upstream.seen.some((line) => line.includes(API_KEY))).toBe(true);
    });

    it('filters by connection, connector and status, and pages back and forward with opaque cursors', async () => {
      for (let i = 0; i < 5; i++) await execute(ids.q, 'get_item', { id: `p${i}` });
      await execute(ids.q, 'fail');
      const all = await until(
        () => page(`/api/v1/connections/${ids.q}/logs?limit=500`),
        (p) => p.logs.filter((l) => l.status === 500).length >= 1 && p.logs.length >= 7,
        'the page calls',
      );
      expect(all.logs.every((l) => l.connection_id === ids.q)).toBe(true);
      const byQuery = await page(`/api/v1/logs?connection_id=${ids.q}&limit=500`);
      expect(byQuery.logs).toEqual(all.logs);
      const failed = await page(`/api/v1/logs?status=5xx&connector=logq`);
      expect(failed.logs.length).toBeGreaterThan(0);
      expect(failed.logs.every((l) => l.status === 500 && l.connector === 'logq')).toBe(true);
      expect((await page('/api/v1/logs?status=500')).logs.every((l) => l.status === 500)).toBe(true);
      const since = new Date(Date.now() + 60_000).toISOString();
      expect((await page(`/api/v1/logs?since=${encodeURIComponent(since)}`)).logs).toEqual([]);

      // Two at a time, back through every row, each once.
      const walked: string[] = [];
      let cursor: string | null = null;
      do {
        const p: LogPage = await page(
          `/api/v1/connections/${ids.q}/logs?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        walked.push(...p.logs.map((l) => l.request_id));
        cursor = p.next_cursor;
      } while (cursor !== null);
      expect(walked).toEqual(all.logs.map((l) => l.request_id));

      // Forward from the first page: only what was written since, oldest first.
      const followCursor = (await page(`/api/v1/connections/${ids.q}/logs?limit=2`)).follow_cursor;
      const none = await page(`/api/v1/connections/${ids.q}/logs?cursor=${followCursor}`);
      expect(none.logs.filter((l) => !walked.includes(l.request_id))).toEqual(none.logs);
      const a = await execute(ids.q, 'get_item', { id: 'after-1' });
      const b = await execute(ids.q, 'get_item', { id: 'after-2' });
      const forward = await until(
        () => page(`/api/v1/connections/${ids.q}/logs?cursor=${followCursor}`),
        (p) => p.logs.length >= 2,
        'the calls written since',
      );
      expect(forward.logs.map((l) => l.request_id)).toEqual([
        a.headers.get('x-request-id'),
        b.headers.get('x-request-id'),
      ]);
      expect((await page(`/api/v1/logs?cursor=${forward.follow_cursor}`)).logs).toEqual([]);
    });

    it("keeps projects apart: another project's connection is a 404, and its calls never show", async () => {
      await execute(ids.q, 'get_item', { id: 'mine' });
      const res = await api('GET', `/api/v1/connections/${ids.q}/logs`, undefined, otherKey);
      expect(res.status).toBe(404);
      expect((await page(`/api/v1/logs?connection_id=${ids.q}`, otherKey)).logs).toEqual([]);
      const mine = await api('GET', `/api/v1/connections/${ids.other}/logs`);
      expect(mine.status).toBe(404);
    });

    it('refuses hostile query values with a 400 naming the field', async () => {
      const forged = Buffer.from(JSON.stringify(['a', -1])).toString('base64url');
      const cases: [string, string][] = [
        ['cursor=not-a-cursor!', 'query.cursor'],
        [`cursor=${forged}`, 'query.cursor'],
        [`cursor=${Buffer.from('["b","1 or 1=1"]').toString('base64url')}`, 'query.cursor'],
        [`cursor=${'A'.repeat(500)}`, 'query.cursor'],
        ['since=yesterday', 'query.since'],
        ['since=99999-01-01T00:00:00Z', 'query.since'],
        ['status=600', 'query.status'],
        ['status=4xxx', 'query.status'],
        ["status=200'--", 'query.status'],
        ['connection_id=conn_%00', 'query.connection_id'],
        ['connector=../etc', 'query.connector'],
        ['limit=100000', 'query.limit'],
        ['nope=1', 'query'],
      ];
      for (const [query, field] of cases) {
        const res = await api('GET', `/api/v1/logs?${query}`);
        expect(res.status, `${query}: ${res.text}`).toBe(400);
        expect(res.text, query).toContain(field);
      }
      const bad = await api('GET', `/api/v1/connections/${ids.q}/logs?cursor=zzz`);
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('query.cursor');
      expect((await api('GET', '/api/v1/logs', undefined, 'cnr_wrong_key')).status).toBe(401);
    });

    it('no OpenTelemetry code is loaded when no exporter is configured', () => {
      expect(spanModuleLoaded()).toBe(false);
    });

    it.skipIf(variant.name !== POSTGRES.name)(
      'two instances on one database write one log: a call through either is listed by both',
      async () => {
        const other = await daemon.another({
          listen: true,
          app: { callLog: { flushMs: 20, pruneEveryMs: 0 } },
        });
        const there = await callApi(other.base, 'POST', '/api/v1/proxy/execute', key, {
          connection_id: ids.q,
          endpoint: 'get_item',
          params: { id: 'other-instance' },
        });
        expect(there.status, there.text).toBe(200);
        const here = await execute(ids.q, 'get_item', { id: 'this-instance' });
        const wanted = [there.headers.get('x-request-id'), here.headers.get('x-request-id')];
        for (const base of [daemon.base, other.base]) {
          const listed = await until(
            async () =>
              (await callApi(base, 'GET', '/api/v1/logs?limit=500', key)).json as unknown as LogPage,
            (p) => wanted.every((id) => p.logs.some((l) => l.request_id === id)),
            `both calls listed by ${base}`,
          );
          expect(listed.logs.filter((l) => wanted.includes(l.request_id))).toHaveLength(2);
        }
      },
    );

    it('prunes calls older than the retention', async () => {
      const old = await execute(ids.q, 'get_item', { id: 'old' });
      const oldId = old.headers.get('x-request-id');
      await until(
        () => page(`/api/v1/logs?limit=500`),
        (p) => p.logs.some((l) => l.request_id === oldId),
        'the old call',
      );
      // Eight days on, past the default seven: the sweep deletes it, not a call made since.
      offset = 8 * 24 * 3_600_000;
      const fresh = await execute(ids.q, 'get_item', { id: 'fresh' });
      const freshId = fresh.headers.get('x-request-id');
      const after = await until(
        () => page(`/api/v1/logs?limit=500`),
        (p) => p.logs.some((l) => l.request_id === freshId) && !p.logs.some((l) => l.request_id === oldId),
        'the old call pruned',
      );
      expect(after.logs.every((l) => Date.parse(l.at) > Date.now())).toBe(true);
      offset = 0;
    });
  });

  describe.skipIf(variant.skip !== undefined)(
    `call log at shutdown and when off, on ${variantTitle(variant)}`,
    () => {
      /** A daemon with one logq connection, `test` run with it and an execute's answer, then closed. */
      const withOneCall = async (
        settings: { env?: Record<string, string>; callLog: CallLogOptions },
        test: (daemon: TestDaemon, key: string) => Promise<void>,
      ): Promise<void> => {
        const upstream = new Upstream();
        await upstream.start();
        const daemon = await withServer({
          backend: variant,
          connectors: CONNECTORS,
          env: { CONNECTR_LOGQ_API_BASE_URL: `${upstream.origin}/q`, ...settings.env },
          app: { callLog: settings.callLog },
          listen: true,
        });
        try {
          const project = await daemon.project();
          const key = await daemon.key(project);
          const id = await daemon.connection(project, { connector: 'logq', secret: { api_key: API_KEY } });
          const res = await callApi(daemon.base, 'POST', '/api/v1/proxy/execute', key, {
            connection_id: id,
            endpoint: 'get_item',
            params: { id: 'x' },
          });
          expect(res.status).toBe(200);
          await test(daemon, key);
        } finally {
          await daemon.close();
          await upstream.close();
        }
      };

      it('writes the calls it holds when the server closes', async () => {
        // Never flushed by the timer in this test: only the shutdown writes it.
        await withOneCall({ callLog: { flushMs: 3_600_000, pruneEveryMs: 0 } }, async (daemon) => {
          await sleep(50);
          const count = async (): Promise<number> => {
            const rows = await rowsOf(daemon, sql`select count(*)::int as n from call_logs`);
            return Number(rows[0]?.n ?? -1);
          };
          expect(await count()).toBe(0);
          await daemon.app.close();
          expect(await count()).toBe(1);
        });
      });

      it('records nothing with CONNECTR_CALL_LOG=off', async () => {
        await withOneCall(
          { env: { CONNECTR_CALL_LOG: 'off' }, callLog: { flushMs: 10 } },
          async (daemon, key) => {
            await sleep(100);
            const logs = await callApi(daemon.base, 'GET', '/api/v1/logs', key);
            expect(logs.json).toMatchObject({ logs: [] });
          },
        );
      });
    },
  );
}
