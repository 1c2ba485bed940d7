import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { parseConnector } from '../../../src/core/connector/load.js';
import { findEndpoint } from '../../../src/core/connector/model.js';
import type { Connector } from '../../../src/core/connector/model.js';
import { ConnectrError } from '../../../src/core/errors.js';
import { paginate } from '../../../src/core/engine/paginate.js';
import { resolveValues } from '../../../src/core/engine/params.js';
import { buildRequest } from '../../../src/core/engine/request.js';
import type { SendDeps } from '../../../src/core/engine/send.js';

/** --all against servers that repeat themselves: every style stops with an error (point 10). */

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const handlers = new Map<string, Handler>();
const seen: string[] = [];
let server: Server;
let base = '';

function json(res: ServerResponse, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

function connectorFor(url: string): Connector {
  const yaml = `
name: loopy
display_name: Loopy
version: 1
docs_url: https://example.com/docs
description: Pages that never end.
hosts:
  api: ${url}
auth:
  type: none
endpoints:
  tokens:
    summary: Page tokens.
    method: GET
    path: /tokens
    params:
      page_token: { in: query, type: string }
    pagination: { style: page_token, request_param: page_token, response_path: next, items_path: items }
  cursors:
    summary: Cursors.
    method: POST
    path: /cursors
    pagination:
      style: cursor
      continue_endpoint: cursors_continue
      cursor_path: cursor
      has_more_path: has_more
      items_path: entries
  cursors_continue:
    summary: Cursors, continued.
    method: POST
    path: /cursors/continue
    params:
      cursor: { in: body, type: string, required: true }
  links:
    summary: Next links.
    method: GET
    path: /links
    pagination: { style: next_link, next_path: next, items_path: value }
  headers:
    summary: Link headers.
    method: GET
    path: /headers
    pagination: { style: link_header }
  offsets:
    summary: Offsets.
    method: GET
    path: /offsets
    params:
      offset: { in: query, type: integer, default: 0 }
      size: { in: query, type: integer, default: 2 }
    pagination: { style: offset, offset_param: offset, limit_param: size }
`;
  const parsed = parseConnector(yaml, { file: 'loopy.yaml', origin: 'extra' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.connector;
}

async function collect(endpointName: string): Promise<{ items: unknown[]; error: unknown }> {
  const connector = connectorFor(base);
  const endpoint = findEndpoint(connector, endpointName);
  if (!endpoint) throw new Error(endpointName);
  const values = resolveValues(endpoint, { values: {} });
  const build = { env: {} };
  const deps: SendDeps = {
    env: {},
    clock: systemClock,
    stdin: () => new PassThrough(),
    credential: () => Promise.resolve({ kind: 'none' as const }),
  };
  const items: unknown[] = [];
  try {
    const pages = paginate(buildRequest(connector, endpoint, values, build), values, build, deps, {
      retries: 0,
      timeoutMs: 5000,
    });
    for await (const item of pages) {
      items.push(item);
      // The unfixed engine never stops: give up well before a test time-out.
      if (items.length > 1000) throw new Error('endless');
    }
  } catch (error) {
    return { items, error };
  }
  return { items, error: undefined };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''} ${body}`);
      const path = (req.url ?? '').split('?')[0] ?? '';
      const handler = handlers.get(path);
      if (handler) handler(req, res, body);
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function expectLoop(result: { items: unknown[]; error: unknown }, what: RegExp): void {
  expect(result.error).toBeInstanceOf(ConnectrError);
  const error = result.error as ConnectrError;
  expect(error.code).toBe('upstream');
  expect(error.message).toMatch(what);
  expect(error.message).toContain('--all stopped');
}

describe('--all stops when a server repeats itself', () => {
  it('page_token: the same token twice', async () => {
    seen.length = 0;
    handlers.set('/tokens', (req, res) => {
      json(res, { items: [req.url], next: 'again' });
    });
    const result = await collect('tokens');
    expectLoop(result, /Loopy sent a page token it had already sent, after 2 page\(s\)/);
    expect(result.items).toEqual(['/tokens', '/tokens?page_token=again']);
    expect(seen).toHaveLength(2);
  });

  it('page_token: tokens that cycle a -> b -> a', async () => {
    seen.length = 0;
    handlers.set('/tokens', (req, res) => {
      json(res, { items: [1], next: (req.url ?? '').endsWith('=a') ? 'b' : 'a' });
    });
    const result = await collect('tokens');
    expectLoop(result, /page token/);
    expect(seen).toHaveLength(3);
  });

  it('cursor: the same cursor from the continue endpoint', async () => {
    seen.length = 0;
    handlers.set('/cursors', (_req, res) => {
      json(res, { entries: [0], cursor: 'c1', has_more: true });
    });
    handlers.set('/cursors/continue', (_req, res) => {
      json(res, { entries: [1], cursor: 'c1', has_more: true });
    });
    const result = await collect('cursors');
    expectLoop(result, /cursor/);
    expect(result.items).toEqual([0, 1]);
    expect(seen).toEqual(['POST /cursors ', 'POST /cursors/continue {"cursor":"c1"}']);
  });

  it('next_link: a link to the page itself', async () => {
    seen.length = 0;
    handlers.set('/links', (_req, res) => {
      json(res, { value: ['x'], next: `${base}/links` });
    });
    const result = await collect('links');
    expectLoop(result, /next-page link/);
    expect(seen).toHaveLength(1);
  });

  it('link_header: a Link header that points back', async () => {
    seen.length = 0;
    handlers.set('/headers', (req, res) => {
      const next = (req.url ?? '').includes('p=2') ? '/headers?p=1' : '/headers?p=2';
      json(res, ['y'], { link: `<${base}${next}>; rel="next"` });
    });
    const result = await collect('headers');
    expectLoop(result, /next-page link/);
    expect(seen).toHaveLength(3);
  });

  it('offset: a server that ignores the offset', async () => {
    seen.length = 0;
    handlers.set('/offsets', (_req, res) => {
      json(res, [1, 2]);
    });
    const result = await collect('offsets');
    expectLoop(result, /Loopy answered the same page at a new offset, after 1 page\(s\)/);
    expect(seen).toHaveLength(2);
  });

  it('still follows pages that move on, to the end', async () => {
    handlers.set('/offsets', (req, res) => {
      const offset = Number(new URL(req.url ?? '', base).searchParams.get('offset'));
      json(res, offset < 4 ? [offset, offset + 1] : [offset]);
    });
    const result = await collect('offsets');
    expect(result.error).toBeUndefined();
    expect(result.items).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('--all meets a broken page', () => {
  it('invalid JSON is an upstream error after the items before it', async () => {
    handlers.set('/tokens', (req, res) => {
      if ((req.url ?? '').includes('page_token')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"items": [2], "next": ');
      } else json(res, { items: [1], next: 't2' });
    });
    const result = await collect('tokens');
    expect(result.items).toEqual([1]);
    expect(result.error).toBeInstanceOf(ConnectrError);
    const error = result.error as ConnectrError;
    expect(error.code).toBe('upstream');
    expect(error.message).toMatch(/^Loopy answered page 2 of tokens with invalid JSON: /);
  });
});
