import { STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/server/types.js';
import { PGLITE } from '../helpers/server-store.js';
import { LogCapture } from './helpers.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * Every HTTP answer is connectr's (issue #20 §3): whatever a client sends (any method, no
 * Content-Type, a body of another type, garbage, a request Node's parser refuses, a huge
 * header, half a body), the answer is a 4xx in the envelope {"error": {"code", "message",
 * "details"}}, never a 5xx and never Fastify's or Node's own body. Driven by /openapi.json, so
 * a route added later is probed too. On the real store (PGlite), with real API keys.
 */

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly hasBody: boolean;
  readonly pathParams: readonly string[];
}

interface OpenApiDocument {
  readonly paths: Record<
    string,
    Record<string, { requestBody?: unknown; parameters?: { in: string; name: string }[] }>
  >;
}

let daemon: TestDaemon;
let app: App;
let base: string;
let key = '';
let operations: Operation[] = [];
const logs = new LogCapture();

beforeAll(async () => {
  daemon = await withServer({ backend: PGLITE, logs, listen: true });
  ({ app, base } = daemon);
  key = await daemon.key(await daemon.project('default'), { name: 'fuzz', allowToken: true });
  const document = (await app.inject({ url: '/openapi.json' })).json<OpenApiDocument>();
  operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      hasBody: operation.requestBody !== undefined,
      pathParams: (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
    })),
  );
}, 60_000);

afterAll(() => daemon.close());

/** A path of the document with each {param} filled in. */
function fill(path: string, value: string): string {
  return path.replace(/\{[^}]+\}/g, value);
}

interface Envelope {
  readonly error: { readonly code: string; readonly message: string; readonly details: unknown[] };
}

/** The answer is a 4xx (or a success), and an error is the envelope (a JSON-RPC error carrying it on /mcp). */
function expectConnectrAnswer(res: LightMyRequestResponse, what: string): void {
  expect(res.statusCode, `${what}: ${res.body.slice(0, 300)}`).toBeLessThan(500);
  if (res.statusCode < 400) return;
  // The browser's landing page of a sign-in answers its errors as a page, for a person.
  if (
    /^GET \/api\/v1\/oauth\/callback\b/.test(what) &&
    String(res.headers['content-type']).startsWith('text/html')
  )
    return;
  expect(res.headers['content-type'], what).toMatch(/^application\/json/);
  const body = res.json<Envelope & { jsonrpc?: string; error: { data?: Envelope['error'] } }>();
  if (body.jsonrpc === '2.0') {
    // POST /mcp speaks JSON-RPC: what it refuses before the protocol carries the envelope as
    // data; the MCP SDK's own protocol errors (a batch that is no JSON-RPC) are JSON-RPC's.
    expect(body.error, what).toMatchObject({
      code: expect.any(Number) as unknown,
      message: expect.any(String) as unknown,
    });
    if (body.error.data !== undefined) expect(body.error.data.details, what).toEqual(expect.any(Array));
    return;
  }
  // Marked as connectr's own, so a client never takes it for an upstream's answer.
  expect(res.headers['x-connectr-error'], what).toBe('1');
  const error = body.error;
  expect(error, `${what}: ${res.body.slice(0, 300)}`).toMatchObject({
    code: expect.any(String) as unknown,
    message: expect.any(String) as unknown,
    details: expect.any(Array) as unknown,
  });
}

async function probe(
  options: InjectOptions & { url: string },
  what: string,
): Promise<LightMyRequestResponse> {
  const res = await app.inject(options);
  expectConnectrAnswer(res, what);
  return res;
}

/** One request over a real socket, written byte for byte; the whole answer as text. */
function rawRequest(text: string | Buffer, endAfterWrite = false): Promise<string> {
  const port = Number(new URL(base).port);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(answer);
    }, 5000);
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (answer) resolve(answer);
      else reject(error);
    });
    socket.write(text, () => {
      if (endAfterWrite) socket.end();
    });
  });
}

/** The status and the parsed JSON body of a raw HTTP/1.1 answer. */
function parseRaw(answer: string): { status: number; headers: string; body: Envelope } {
  const split = answer.indexOf('\r\n\r\n');
  const head = answer.slice(0, split);
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0);
  // Answers written on the socket itself are marked as connectr's own too.
  expect(head.toLowerCase(), head).toMatch(/\r\nx-connectr-error: 1(\r\n|$)/);
  return { status, headers: head.toLowerCase(), body: JSON.parse(answer.slice(split + 4)) as Envelope };
}

describe('methods without a Content-Type', () => {
  it('QUERY, and every method Fastify knows, on every route: a 4xx envelope, never a 500', async () => {
    expect(operations.length).toBeGreaterThan(15);
    const methods = [
      'QUERY',
      'SEARCH',
      'PROPFIND',
      'MKCOL',
      'LOCK',
      'PATCH',
      'PUT',
      'POST',
      'DELETE',
      'OPTIONS',
    ];
    for (const op of operations)
      for (const method of methods)
        for (const headers of [{}, { authorization: `Bearer ${key}` }]) {
          await probe(
            { method: method as 'GET', url: fill(op.path, 'x'), headers },
            `${method} ${op.path} ${Object.keys(headers).join()}`,
          );
        }
  });

  it('QUERY on a route without it is a 405 naming the methods it has', async () => {
    const res = await probe({ method: 'QUERY' as 'GET', url: '/health' }, 'QUERY /health');
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.json<Envelope>().error.code).toBe('method_not_allowed');
    // Allow lists only what works: GET and DELETE /mcp exist only to answer their own 405.
    for (const method of ['OPTIONS', 'PUT'] as const) {
      const mcp = await probe({ method, url: '/mcp' }, `${method} /mcp`);
      expect(mcp.statusCode, method).toBe(405);
      expect(mcp.headers.allow, method).toBe('POST');
    }
  });
});

describe('POST /mcp', () => {
  it('refuses an Accept without text/event-stream with a JSON-RPC error carrying the envelope', async () => {
    for (const accept of [undefined, 'application/json', '*/*']) {
      const res = await probe(
        {
          method: 'POST',
          url: '/mcp',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/json',
            ...(accept === undefined ? {} : { accept }),
          },
          payload: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
        },
        `accept ${accept}`,
      );
      expect(res.statusCode).toBe(406);
      expect(res.json<{ error: { data: Envelope['error'] } }>().error.data.code).toBe('not_acceptable');
    }
  });
});

describe('bodies of the wrong type', () => {
  it('any Content-Type but JSON is a 415 naming the type and application/json, text/plain included', async () => {
    for (const type of [
      'text/plain',
      'text/plain; charset=utf-8',
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
    ]) {
      const res = await probe(
        {
          method: 'POST',
          url: '/api/v1/connections',
          headers: { authorization: `Bearer ${key}`, 'content-type': type },
          payload: 'name=x',
        },
        type,
      );
      expect(res.statusCode, type).toBe(415);
      const error = res.json<Envelope>().error;
      expect(error.code).toBe('unsupported_media_type');
      expect(error.message).toContain(type.split(';')[0]);
      expect(error.message).toContain('application/json');
    }
  });

  it('a body without any Content-Type is a 415 too', async () => {
    const res = await probe(
      {
        method: 'POST',
        url: '/api/v1/connections',
        headers: { authorization: `Bearer ${key}`, 'content-length': '6' },
        payload: 'name=x',
      },
      'no content-type',
    );
    expect(res.statusCode).toBe(415);
    expect(res.json<Envelope>().error.message).toContain('application/json');
  });
});

describe('hostile requests to every operation of /openapi.json', () => {
  const bodies: [string, Record<string, string>, string | undefined][] = [
    ['no body', {}, undefined],
    ['no body, JSON type', { 'content-type': 'application/json' }, undefined],
    ['empty JSON', { 'content-type': 'application/json' }, ''],
    ['garbage JSON', { 'content-type': 'application/json' }, '{"a": [1, '],
    ['a JSON string', { 'content-type': 'application/json' }, '"x"'],
    ['JSON null', { 'content-type': 'application/json' }, 'null'],
    ['a JSON array', { 'content-type': 'application/json' }, '[1, {"a": null}]'],
    ['wrong types', { 'content-type': 'application/json' }, JSON.stringify(wrongTypes())],
    ['a deep object', { 'content-type': 'application/json' }, `${'['.repeat(5000)}${']'.repeat(5000)}`],
    [
      'proto keys',
      { 'content-type': 'application/json' },
      '{"__proto__": {"x": 1}, "constructor": {"prototype": {}}}',
    ],
    ['text/plain', { 'content-type': 'text/plain' }, 'hello'],
    ['a bad Content-Type', { 'content-type': '///;;;' }, '{}'],
    ['JSON with a wrong charset', { 'content-type': 'application/json; charset=latin-9' }, '{}'],
    ['invalid UTF-8', { 'content-type': 'application/json' }, '{"name": "\u00ff\u00fe"}'],
    ['NUL in every string', { 'content-type': 'application/json' }, JSON.stringify(nulStrings())],
  ];
  const paramValues = ['x', '%00', '..', '%2e%2e%2f', 'a'.repeat(300), '%C0%AF', '%E2%80%AE', '"\'<>'];
  const queries = [
    '',
    '?limit=-1&cursor=%00',
    '?connector_type=x%00&user_id=x',
    '?limit=abc&limit=2',
    '?connector_type[]=x&__proto__=1',
    `?q=${'a'.repeat(5000)}`,
  ];

  it('never a 5xx, always the envelope, with and without a key', async () => {
    for (const op of operations)
      for (const auth of [{}, { authorization: `Bearer ${key}` }, { authorization: 'Bearer ck_nope' }]) {
        for (const [name, headers, payload] of bodies)
          await probe(
            {
              method: op.method as 'GET',
              url: fill(op.path, 'conn_x'),
              headers: { ...auth, ...headers },
              ...(payload === undefined ? {} : { payload }),
            },
            `${op.method} ${op.path} ${name}`,
          );
        for (const value of paramValues)
          await probe(
            { method: op.method as 'GET', url: fill(op.path, value), headers: auth },
            `${op.method} ${op.path} param ${value.slice(0, 20)}`,
          );
        for (const query of queries)
          await probe(
            { method: op.method as 'GET', url: `${fill(op.path, 'x')}${query}`, headers: auth },
            `${op.method} ${op.path}${query.slice(0, 30)}`,
          );
      }
  }, 120_000);
});

/** A body whose fields all have types no route takes. */
/** A body whose every field is a string holding a NUL, which PostgreSQL cannot store. */
function nulStrings(): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(wrongTypes()).map((name) => [name, name === 'params' ? { q: 'a\u0000' } : `gmail\u0000`]),
  );
}

function wrongTypes(): Record<string, unknown> {
  const names = [
    'connector_type',
    'name',
    'user_id',
    'connection_id',
    'endpoint',
    'params',
    'redirect_uri',
    'return_url',
    'code',
    'state',
    'metadata',
    'credentials',
    'client_id',
    'client_secret',
    'scopes',
    'all',
    'limit',
    'max_pages',
    'body',
    'body_base64',
    'connector',
  ];
  return Object.fromEntries(
    names.map((name, i) => [name, [[], {}, 1.5, true, null, 'x'.repeat(10_000)][i % 6]]),
  );
}

describe('over a real socket: what Node and Fastify would answer themselves', () => {
  it('an unknown method (FOO) is a 405 envelope with Allow, from the parser level', async () => {
    const answer = parseRaw(await rawRequest('FOO /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    expect(answer.status).toBe(405);
    expect(answer.headers).toContain('allow: get, head');
    expect(answer.headers).toMatch(/x-request-id: [0-9a-f-]{36}/);
    expect(answer.body.error).toMatchObject({ code: 'method_not_allowed', details: [] });
    const nowhere = parseRaw(await rawRequest('FOO /nope HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(nowhere.status).toBe(404);
    expect(nowhere.body.error.code).toBe('not_found');
  });

  it('QUERY without a Content-Type is a 405 envelope, not a 500', async () => {
    const answer = parseRaw(
      await rawRequest(
        `QUERY /api/v1/connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nConnection: close\r\n\r\n`,
      ),
    );
    expect(answer.status).toBe(405);
    expect(answer.body.error.code).toBe('method_not_allowed');
  });

  it('a huge header is a 431 envelope', async () => {
    const answer = parseRaw(
      await rawRequest(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`),
    );
    expect(answer.status).toBe(431);
    expect(answer.body.error).toMatchObject({ code: 'headers_too_large', details: [] });
  });

  it('a fragment of a body, then the end of the connection, is a 400 envelope', async () => {
    const answer = parseRaw(
      await rawRequest(
        `POST /api/v1/connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"connector_type":`,
        true,
      ),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_input');
    expect(answer.body.error.message).toMatch(/ended before/);
  });

  it('garbage in the request line, a bad version, a bad header, chunked garbage: 400 envelopes', async () => {
    for (const text of [
      'GET /health HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET\r\n\r\n',
      '\x00\x01\x02 / HTTP/1.1\r\n\r\n',
      'GET /health HTTP/1.1\r\nHo st: x\r\n\r\n',
      'POST /api/v1/connections HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\n',
      'POST /api/v1/connections HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ]) {
      const answer = parseRaw(await rawRequest(text));
      expect(answer.status, JSON.stringify(text)).toBe(400);
      expect(answer.body.error.code, JSON.stringify(text)).toBe('invalid_input');
      expect(STATUS_CODES[answer.status]).toBeDefined();
    }
  });

  it('CONNECT and an Expect Node does not know are envelopes too', async () => {
    const tunnel = parseRaw(await rawRequest('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n'));
    expect(tunnel.status).toBe(405);
    expect(tunnel.body.error.code).toBe('method_not_allowed');
    const expectation = parseRaw(
      await rawRequest(
        'POST /api/v1/connections HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 2\r\n\r\n{}',
      ),
    );
    expect(expectation.status).toBe(417);
    expect(expectation.body.error.code).toBe('expectation_failed');
  });

  it('the server still answers after all of that, and logged no 5xx', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    const statuses = logs
      .lines()
      .map((line) => (line.res as { statusCode?: number } | undefined)?.statusCode ?? 0);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    const errors = logs.lines().filter((line) => line.level === 50);
    expect(errors.map((line) => JSON.stringify(line).slice(0, 400))).toEqual([]);
  });
});
