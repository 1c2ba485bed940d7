import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempHome } from '../helpers/home.js';
import { runCli } from '../helpers/io.js';

/**
 * `connectr call --all` and `connectr api --paginate` keep the connector's declared rate limits
 * in the process: each page waits its turn. Against a real paginating server on 127.0.0.1 that
 * records when each page was asked for.
 */

const PAGED = `name: paged
display_name: Paged
version: 1
docs_url: https://example.com/docs
description: Six pages, at most 5 requests a second.
hosts:
  api: https://paged.example.com
auth:
  type: api_key
  in: header
  name: X-Api-Key
rate_limits:
  - {scope: connection, requests: 5, per: 1s}
endpoints:
  list_items:
    summary: Items, a page at a time.
    method: GET
    path: /items
    params:
      page: {in: query, type: string}
    pagination:
      style: page_token
      request_param: page
      response_path: next
      items_path: items
`;

describe('local rate limits', () => {
  const home = tempHome();
  const dir = mkdtempSync(join(tmpdir(), 'connectr-limits-'));
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    arrivals.push(performance.now());
    const page = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('page') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ items: [page], ...(page < 5 ? { next: String(page + 1) } : {}) }));
  });
  let env: Record<string, string>;
  beforeAll(async () => {
    writeFileSync(join(dir, 'paged.yaml'), PAGED);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    env = {
      ...home.env,
      CONNECTR_CONNECTORS_DIR: dir,
      CONNECTR_PAGED_API_BASE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      CONNECTR_PAGED_TOKEN: 'key-1',
    };
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
    home.cleanup();
  });

  /**
   * Turns 200 ms apart: the six requests span about a second, none arriving right after another.
   * An arrival comes some ms after its turn (timers, the network), the first the most (its
   * connection is made then): a loaded machine measured 970 ms from the first to the last.
   * Without the limit they all arrive within a few tens of ms.
   */
  const expectPaced = (): void => {
    const gaps = arrivals.slice(1).map((at, i) => at - (arrivals[i] ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(150);
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(900);
  };

  it('call --all asks for each page at most 5 times a second', async () => {
    arrivals.length = 0;
    const r = await runCli(['call', 'paged', 'list_items', '--all'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(arrivals).toHaveLength(6);
    expectPaced();
  });

  it('api --paginate too', async () => {
    arrivals.length = 0;
    const r = await runCli(['api', 'paged', '/items', '--paginate'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(arrivals).toHaveLength(6);
    expectPaced();
  });
});
