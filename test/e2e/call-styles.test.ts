import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/bin.js';
import { runCli } from '../helpers/io.js';
import { tempHome } from '../helpers/home.js';
import { jsonOf, sendJson, startEmulator } from '../fixtures/emulators/server.js';
import type { Emulator } from '../fixtures/emulators/server.js';

const execFileAsync = promisify(execFile);

/**
 * What a user-written connector can use: Link-header and offset pagination, form bodies, API
 * keys in the query; and the resilience knobs (Retry-After dates, --retries, --timeout) and
 * --curl, checked by running the printed command.
 */
describe('user connectors and resilience', () => {
  const home = tempHome();
  const dir = join(home.dir, 'connectors');
  let api: Emulator;
  let env: Record<string, string>;
  const items = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` }));

  beforeAll(async () => {
    api = await startEmulator(async (req, res) => {
      if (req.url.searchParams.get('api_key') !== 'k-1')
        return sendJson(res, 401, { message: 'Bad credentials' });
      if (req.url.pathname === '/items') {
        const page = Number(req.url.searchParams.get('page') ?? 1);
        const per = Number(req.url.searchParams.get('per_page') ?? 30);
        const next = page * per < items.length;
        const link = (p: number, rel: string): string =>
          `<${api.url}/items?page=${p}&per_page=${per}&api_key=k-1>; rel="${rel}"`;
        return sendJson(res, 200, items.slice((page - 1) * per, page * per), {
          ...(next
            ? { link: [link(page + 1, 'next'), link(Math.ceil(items.length / per), 'last')].join(', ') }
            : {}),
        });
      }
      if (req.url.pathname === '/records') {
        const offset = Number(req.url.searchParams.get('offset') ?? 0);
        const limit = Number(req.url.searchParams.get('limit') ?? 3);
        return sendJson(res, 200, { records: items.slice(offset, offset + limit), total: items.length });
      }
      if (req.url.pathname === '/forms' && req.method === 'POST') {
        return sendJson(res, 200, {
          type: req.headers['content-type'],
          form: Object.fromEntries(new URLSearchParams(req.body.toString())),
        });
      }
      if (req.url.pathname === '/slow') {
        await new Promise((r) => setTimeout(r, 3000));
        return sendJson(res, 200, {});
      }
      if (req.url.pathname === '/partial') {
        // Half the promised bytes, then the connection dies.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' });
        res.write(Buffer.alloc(500, 7));
        setTimeout(() => res.socket?.destroy(), 50);
        return undefined;
      }
      if (req.url.pathname === '/echo')
        return sendJson(res, 200, {
          query: Object.fromEntries(req.url.searchParams),
          body: jsonOf(req) ?? null,
        });
      return sendJson(res, 404, { message: 'Not Found' });
    });
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'catalog.yaml'),
      `name: catalog
display_name: Catalog
version: 1
docs_url: https://example.com/docs
description: A test catalogue API.
hosts:
  api: ${api.url}
auth:
  type: api_key
  in: query
  name: api_key
errors:
  message_paths: [message]
rate_limit:
  retry_statuses: [429, 503]
endpoints:
  list_items:
    summary: Items, paged by Link header.
    method: GET
    path: /items
    params:
      per_page: { in: query, type: integer }
      page: { in: query, type: integer }
    pagination: { style: link_header }
  list_records:
    summary: Records, paged by offset.
    method: GET
    path: /records
    params:
      offset: { in: query, type: integer }
      page_size: { in: query, name: limit, type: integer, default: 3 }
    pagination: { style: offset, offset_param: offset, limit_param: page_size, items_path: records, total_path: total }
  submit:
    summary: A form post.
    method: POST
    path: /forms
    params:
      title: { in: form, required: true }
      tags: { in: form, type: array, items: string }
  slow:
    summary: Answers after three seconds.
    method: GET
    path: /slow
  partial:
    summary: A download that breaks off.
    method: GET
    path: /partial
    response: { encoding: binary }
  echo:
    summary: Echoes the query and JSON body.
    method: POST
    path: /echo
    params:
      q: { in: query }
      note: { in: body, field: meta.note }
`,
    );
    env = { ...home.env, CONNECTR_CATALOG_TOKEN: 'k-1' };
  });
  afterAll(async () => {
    await api.close();
    home.cleanup();
  });

  const call = (args: string[]) => runCli(['call', 'catalog', ...args], env);

  it('follows Link headers across pages', async () => {
    const before = api.requests.length;
    const r = await call(['list_items', '--per-page', '2', '--all']);
    expect(r.code, r.stderr).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: number }).id),
    ).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(api.requests.length - before).toBe(4);
    // The API key stays on every page, in the query.
    expect(api.requests.slice(before).every((q) => q.url.searchParams.get('api_key') === 'k-1')).toBe(true);
  });

  it('follows offsets until the total', async () => {
    const r = await call(['list_records', '--all']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(7);
    expect(api.requests.slice(-3).map((q) => q.url.searchParams.get('offset'))).toEqual([null, '3', '6']);
  });

  it('sends form bodies with repeated keys', async () => {
    const r = await call(['submit', '--title', 'Hello & welcome', '--tags', 'a', '--tags', 'b']);
    expect(JSON.parse(r.stdout)).toEqual({
      type: 'application/x-www-form-urlencoded',
      form: { title: 'Hello & welcome', tags: 'b' },
    });
    expect(api.requests.at(-1)?.body.toString()).toBe('title=Hello+%26+welcome&tags=a&tags=b');
  });

  it('honours Retry-After given as an HTTP date', async () => {
    api.faults.push({ status: 503, headers: { 'retry-after': new Date(Date.now() + 1500).toUTCString() } });
    const started = Date.now();
    const r = await call(['list_records']);
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('--retries 0 gives up at once, with the rate limit in the hint', async () => {
    api.faults.push({
      status: 429,
      headers: { 'retry-after': '30' },
      body: { message: 'API rate limit exceeded' },
    });
    const r = await call(['list_records', '--retries', '0']);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(
      'error: Catalog answered 429 Too Many Requests: API rate limit exceeded\nhint: rate limited; the server asks to wait 30 s; try again later\n',
    );
  });

  it('--timeout ends a call the server does not answer', async () => {
    const started = Date.now();
    const r = await call(['slow', '--timeout', '1s', '--retries', '0']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('error: GET 127.0.0.1');
    expect(r.stderr).toContain('failed 1 time(s): nothing arrived for 1s');
    expect(r.stderr).toContain('hint: wait longer with --timeout');
    expect(Date.now() - started).toBeLessThan(2900);
  });

  it('-o leaves nothing behind when a download breaks off, and checks its target first', async () => {
    const out = join(home.dir, 'partial.bin');
    const r = await call(['partial', '-o', out, '--retries', '0']);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/^error: GET 127\.0\.0\.1:\d+\/partial: the response broke off/);
    expect(readdirSync(home.dir).filter((f) => f.includes('partial'))).toEqual([]);
    const before = api.requests.length;
    const toDir = await call(['partial', '-o', home.dir]);
    expect(toDir.code).toBe(2);
    expect(toDir.stderr).toContain(`error: -o ${home.dir} is a directory`);
    const nowhere = await call(['partial', '-o', join(home.dir, 'missing', 'f.bin')]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain(`the folder ${join(home.dir, 'missing')} does not exist`);
    expect(api.requests.length).toBe(before);
  });

  it('--curl prints a command that sends the same request', async () => {
    const printed = await call(['echo', '--q', "it's", '--note', 'a "quoted" $note', '--curl']);
    expect(printed.code).toBe(0);
    // Run it with `connectr` on PATH, as a user would.
    const bin = join(home.dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'connectr'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, 'connectr'), 0o755);
    const before = api.requests.length;
    // Asynchronously: the emulator answers from this very process.
    const run = await execFileAsync('sh', ['-c', `${printed.stdout.trim()} --silent`], {
      env: { ...env, PATH: `${bin}:${process.env.PATH ?? ''}` },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(JSON.parse(run.stdout)).toEqual({
      query: { q: "it's", api_key: 'k-1' },
      body: { meta: { note: 'a "quoted" $note' } },
    });
    const sent = api.requests.slice(before);
    expect(sent).toHaveLength(1);
    const direct = await call(['echo', '--q', "it's", '--note', 'a "quoted" $note']);
    expect(JSON.parse(direct.stdout)).toEqual(JSON.parse(run.stdout));
  });
});
