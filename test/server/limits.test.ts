import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACED, mostInWindow, startPacedUpstream } from '../helpers/paced.js';
import type { Arrival, PacedUpstream } from '../helpers/paced.js';
import { BACKENDS, PGLITE, variantTitle } from '../helpers/server-store.js';
import { callApi, withServer } from '../helpers/server.js';
import type { Instance, TestDaemon } from '../helpers/server.js';

/**
 * The rate limits connectr keeps (docs/limits.md), through the daemon: a connector limited to 5
 * requests a second per connection, called by execute, the raw proxy and MCP; on PGlite by one
 * instance, on PostgreSQL by two instances sharing the database. The upstream is a real HTTP
 * server on 127.0.0.1 that records when each request arrived.
 */

let upstream: PacedUpstream;
let arrivals: Arrival[];

beforeAll(async () => {
  upstream = await startPacedUpstream();
  arrivals = upstream.arrivals;
});
afterAll(async () => {
  await upstream.close();
});

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`rate limits on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    /** The instances calls go through: two on PostgreSQL, one on PGlite. */
    let bases: string[];
    let second: Instance | undefined;
    let key: string;
    let projectId: string;

    beforeAll(async () => {
      daemon = await withServer({
        backend: variant,
        connectors: { paced: PACED },
        env: { CONNECTR_PACED_API_BASE_URL: upstream.url },
        listen: true,
      });
      projectId = await daemon.project('default');
      key = await daemon.key(projectId);
      if (variant.name === 'postgres') second = await daemon.another({ listen: true });
      bases = second ? [daemon.base, second.base] : [daemon.base];
    }, 60_000);
    afterAll(async () => {
      await daemon.close();
    });

    const connection = (name: string): Promise<string> =>
      daemon.connection(projectId, { connector: 'paced', name, secret: { api_key: 'k-1' } });
    const execute = (base: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      fetch(`${base}/api/v1/proxy/execute`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });

    it('a burst of 100 concurrent executes: at most 5 reach the API in any second, the rest wait their turn or get 429 with Retry-After', async () => {
      const id = await connection('burst');
      arrivals.length = 0;
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const response = await execute(bases[i % bases.length] ?? '', {
            connection_id: id,
            endpoint: 'ping',
            max_wait_ms: 2000,
          });
          return {
            status: response.status,
            retryAfter: response.headers.get('retry-after'),
            body: (await response.json()) as Record<string, unknown>,
            ms: performance.now() - started,
          };
        }),
      );
      const ok = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 429);
      expect(
        ok.length + refused.length,
        JSON.stringify(answers.find((a) => a.status !== 200 && a.status !== 429)),
      ).toBe(100);
      for (const a of refused) {
        expect((a.body.error as { code: string }).code).toBe('rate_limited');
        expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
      }
      // Turns every 200 ms, each caller waiting at most 2 s from when its request was read.
      expect(ok.length).toBeGreaterThanOrEqual(9);
      expect(refused.length).toBeGreaterThanOrEqual(50);
      // Only the calls that went reached the API, and never more than 5 in a second, plus the one
      // allowance docs/limits.md documents: turns are granted 200 ms apart, but a call granted
      // its turn may leave a few ms late (the event loop busy with 100 requests), closer to the next.
      const hits = arrivals.filter((a) => a.path === '/ping').map((a) => a.at);
      expect(hits.length).toBe(ok.length);
      expect(mostInWindow(hits, 1000)).toBeLessThanOrEqual(6);
    }, 30_000);

    it('keeps the turns where every instance sees them: rows on PostgreSQL, this process on PGlite (no statement per call)', async () => {
      const id = await connection('where');
      expect((await execute(daemon.base, { connection_id: id, endpoint: 'ping' })).status).toBe(200);
      const rows = await daemon.store.database.query<{ key: string }>('select key from rate_limit_state');
      const ours = rows.filter((r) => r.key.includes(id));
      expect(ours.length).toBe(variant.name === 'postgres' ? 1 : 0);
    });

    it("the provider's 429 with Retry-After: 2 pauses the connection's calls on every instance", async () => {
      const id = await connection('crowded');
      arrivals.length = 0;
      upstream.crowdOnce(true);
      // The first call meets the 429; the engine itself waits 2 s and tries again.
      const first = execute(bases[0] ?? '', { connection_id: id, endpoint: 'crowded' });
      while (!arrivals.some((a) => a.path === '/crowded')) await new Promise((r) => setTimeout(r, 10));
      const limitedAt = arrivals[0]?.at ?? 0;
      await new Promise((r) => setTimeout(r, 200));
      const other = bases.at(-1) ?? '';
      // Through the other instance, with no wait allowed: refused at once, nothing sent.
      const refused = await execute(other, { connection_id: id, endpoint: 'ping', max_wait_ms: 0 });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(2);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
      expect(arrivals.filter((a) => a.path === '/ping')).toEqual([]);
      // Allowed to wait: it goes once the pause is over, not before.
      const waited = await execute(other, { connection_id: id, endpoint: 'ping' });
      expect(waited.status).toBe(200);
      const ping = arrivals.find((a) => a.path === '/ping');
      expect((ping?.at ?? 0) - limitedAt).toBeGreaterThanOrEqual(1900);
      expect((await first).status).toBe(200);
      const retried = arrivals.filter((a) => a.path === '/crowded');
      expect(retried).toHaveLength(2);
      expect((retried[1]?.at ?? 0) - limitedAt).toBeGreaterThanOrEqual(1900);
    }, 30_000);

    it('the raw proxy takes its turn too: refused with 429 rate_limited, nothing sent upstream', async () => {
      const id = await connection('raw');
      arrivals.length = 0;
      const answers: Response[] = [];
      for (let i = 0; i < 4; i++)
        answers.push(
          await fetch(`${bases[i % bases.length] ?? ''}/api/v1/connections/${id}/proxy/ping`, {
            headers: { authorization: `Bearer ${key}`, 'x-connectr-max-wait': '0' },
          }),
        );
      expect(answers.map((a) => a.status)).toEqual([200, 429, 429, 429]);
      const last = answers[3];
      expect(last?.headers.get('x-connectr-error')).toBe('1');
      expect(Number(last?.headers.get('retry-after'))).toBe(1);
      expect(((await last?.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
      expect(arrivals).toHaveLength(1);
      // The header is connectr's own: never forwarded.
    });

    it('MCP tool calls take their turn: a refused one is an error result saying rate_limited', async () => {
      const id = await connection('mcp');
      arrivals.length = 0;
      const call = async (): Promise<string> => {
        const response = await fetch(`${bases[0] ?? ''}/mcp`, {
          method: 'POST',
          headers: {
            accept: 'application/json, text/event-stream',
            'content-type': 'application/json',
            authorization: `Bearer ${key}`,
            'connection-id': id,
            'x-connectr-max-wait': '0',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name: 'paced_ping', arguments: {} },
          }),
        });
        expect(response.status).toBe(200);
        return response.text();
      };
      expect(await call()).toContain('pong');
      const refused = await call();
      expect(refused).toContain('"isError":true');
      expect(refused).toContain("paced's rate limit (5 per 1s per connection)");
      expect(refused).toContain('nothing was sent');
      expect(arrivals).toHaveLength(1);
    });

    it('counts the delayed and refused calls in /metrics, per connector', async () => {
      const metricsKey = await daemon.key(projectId, { name: 'scraper', scope: 'metrics' });
      const text = (await callApi(daemon.base, 'GET', '/metrics', metricsKey)).text;
      expect(text).toMatch(/connectr_rate_limited_calls_total\{connector="paced",outcome="delayed"\} [1-9]/);
      expect(text).toMatch(/connectr_rate_limited_calls_total\{connector="paced",outcome="refused"\} [1-9]/);
    });

    it("PUT /connectors/{name}/limits overrides the definition's limits for the project", async () => {
      const url = '/api/v1/connectors/paced/limits';
      const before = await callApi(daemon.base, 'GET', url, key);
      expect(before.json).toEqual({
        connector: 'paced',
        source: 'connector',
        max_wait_ms: 10_000,
        limits: [{ scope: 'connection', requests: 5, per: '1s' }],
      });
      const put = await callApi(daemon.base, 'PUT', url, key, {
        limits: [{ scope: 'connector', requests: 1, per: '1h', endpoints: ['ping'] }],
        max_wait_ms: 0,
      });
      expect(put.status, put.text).toBe(200);
      expect(put.json).toMatchObject({ source: 'project', max_wait_ms: 0 });
      // One ping an hour for the whole project now; another endpoint is not counted.
      const a = await connection('override-a');
      const b = await connection('override-b');
      expect((await execute(daemon.base, { connection_id: a, endpoint: 'ping' })).status).toBe(200);
      const second = await execute(daemon.base, { connection_id: b, endpoint: 'ping' });
      expect(second.status).toBe(429);
      expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(3000);
      upstream.crowdOnce(false);
      expect((await execute(daemon.base, { connection_id: b, endpoint: 'crowded' })).status).toBe(200);
      // A raw-proxy request counts for the endpoint whose method and path it fits.
      const raw = (path: string): Promise<Response> =>
        fetch(`${daemon.base}/api/v1/connections/${b}/proxy/${path}`, {
          headers: { authorization: `Bearer ${key}` },
        });
      expect((await raw('ping')).status).toBe(429);
      expect((await raw('crowded')).status).toBe(200);
      // An empty list: no limit at all for this project.
      expect((await callApi(daemon.base, 'PUT', url, key, { limits: [] })).status).toBe(200);
      expect((await execute(daemon.base, { connection_id: b, endpoint: 'ping' })).status).toBe(200);
      const reverted = await callApi(daemon.base, 'DELETE', url, key);
      expect(reverted.json).toMatchObject({ source: 'connector', limits: [{ requests: 5 }] });
    });

    it('refuses hostile limits and waits with a 400 naming the field; nothing is stored or sent', async () => {
      const url = '/api/v1/connectors/paced/limits';
      const cases: [unknown, string][] = [
        [{ limits: [{ scope: 'connection', requests: 0, per: '1s' }] }, 'body.limits.0.requests'],
        [{ limits: [{ scope: 'connection', requests: 1e12, per: '1s' }] }, 'body.limits.0.requests'],
        [{ limits: [{ scope: 'connection', requests: 5, per: '1d' }] }, 'body.limits.0.per'],
        [{ limits: [{ scope: 'world', requests: 5, per: '1s' }] }, 'body.limits.0.scope'],
        [
          { limits: [{ scope: 'connection', requests: 5, per: '1s', endpoints: ['pingg'] }] },
          'body.limits.0.endpoints.0',
        ],
        [
          { limits: [{ scope: 'connection', requests: 5, per: '1s', endpoints: ['__proto__'] }] },
          'body.limits.0.endpoints.0',
        ],
        [
          {
            limits: [
              { scope: 'connection', requests: 5, per: '1s' },
              { scope: 'connection', requests: 6, per: '1s' },
            ],
          },
          'body.limits.1',
        ],
        [{ limits: [{ scope: 'connection', requests: 5, per: '1s', burst: 9 }] }, 'body.limits.0.burst'],
        [{ limits: [{ scope: 'connection', requests: 5, per: '1s', extra: 1 }] }, 'body.limits.0'],
        [{ limits: [], max_wait_ms: 10_000_000 }, 'body.max_wait_ms'],
        [{ limits: [], max_wait_ms: -1 }, 'body.max_wait_ms'],
        [
          { limits: Array.from({ length: 51 }, () => ({ scope: 'connection', requests: 5, per: '1s' })) },
          'body.limits',
        ],
      ];
      for (const [body, field] of cases) {
        const answer = await callApi(daemon.base, 'PUT', url, key, body);
        expect(answer.status, answer.text).toBe(400);
        const details = (answer.json.error as { details: { field?: string }[] }).details;
        expect(
          details.map((d) => d.field),
          answer.text,
        ).toContain(field);
      }
      expect((await callApi(daemon.base, 'GET', url, key)).json).toMatchObject({ source: 'connector' });
      expect(
        (await callApi(daemon.base, 'PUT', '/api/v1/connectors/nope/limits', key, { limits: [] })).status,
      ).toBe(404);

      const id = await connection('hostile-wait');
      arrivals.length = 0;
      for (const value of ['abc', '-1', '1e3', '60001', '99999999999', ' ']) {
        const answer = await execute(
          daemon.base,
          { connection_id: id, endpoint: 'ping' },
          { 'x-connectr-max-wait': value },
        );
        expect(answer.status, value).toBe(400);
        expect(await answer.text()).toContain('headers.x-connectr-max-wait');
      }
      for (const value of [-1, 1.5, 60_001, '100']) {
        const answer = await execute(daemon.base, {
          connection_id: id,
          endpoint: 'ping',
          max_wait_ms: value,
        });
        expect(answer.status, String(value)).toBe(400);
        expect(await answer.text()).toContain('body.max_wait_ms');
      }
      const raw = await fetch(`${daemon.base}/api/v1/connections/${id}/proxy/ping`, {
        headers: { authorization: `Bearer ${key}`, 'x-connectr-max-wait': 'soon' },
      });
      expect(raw.status).toBe(400);
      expect(arrivals).toEqual([]);
    });
  });
}

// PGlite keeps its turns in memory (limits/service.ts: only its own process can open it); its
// sweep of them is gcra.test.ts's, and no call writes a row there (below).
for (const variant of BACKENDS.filter((v) => v !== PGLITE)) {
  describe.skipIf(variant.skip !== undefined)(`rate-limit keys on ${variantTitle(variant)}`, () => {
    it("idle for an hour are deleted by the daemon's sweep; a key in use, paused or recently used stays", async () => {
      const daemon = await withServer({
        backend: variant,
        connectors: { paced: PACED },
        env: { CONNECTR_PACED_API_BASE_URL: upstream.url },
        app: { limitKeyPurgeEveryMs: 20 },
      });
      try {
        const { database } = daemon.store;
        const now = Date.now();
        await database.query(
          'insert into rate_limit_state (key, tat, paused_until) values ($1, $2, 0), ($3, $4, 0), ($5, 0, $6), ($7, $8, 0)',
          [
            'idle',
            now - 2 * 3_600_000,
            'recent',
            now - 30 * 60_000,
            'paused',
            now + 60_000,
            'busy',
            now + 1000,
          ],
        );
        const keys = async (): Promise<string[]> =>
          (await database.query<{ key: string }>('select key from rate_limit_state order by key')).map(
            (r) => r.key,
          );
        const deadline = Date.now() + 5000;
        while ((await keys()).includes('idle') && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 20));
        expect(await keys()).toEqual(['busy', 'paused', 'recent']);
      } finally {
        await daemon.close();
      }
    });
  });
}
