/**
 * Retries, Retry-After, time-outs, connection errors and broken streams, against a small fake
 * HTTP server on 127.0.0.1 (the real daemon does not answer 429 or stall on demand). Waits go
 * through an injected sleep that records them: no test waits real seconds for a back-off.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ConnectrClient,
  ConnectrConnectionError,
  ConnectrError,
  ConnectrTimeoutError,
  InvalidInputError,
  NotFoundError,
  UnavailableError,
  UpstreamError,
  parseRetryAfter,
} from '../src/index.js';
import type { ClientOptions } from '../src/index.js';

type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void;

let server: Server;
let url: string;
/** The answers to give, in order; the last one repeats. */
let handlers: Handler[] = [];
/** Each request seen: method, path, authorization header. */
let seen: { method: string; path: string; authorization: string | undefined }[] = [];
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((request, response) => {
    open.add(response);
    response.on('close', () => open.delete(response));
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      seen.push({
        method: request.method ?? '',
        path: request.url ?? '',
        authorization: request.headers.authorization,
      });
      const handler = handlers.length > 1 ? handlers.shift() : handlers[0];
      if (!handler) throw new Error('no handler');
      handler(request, response, Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  for (const response of open) response.destroy();
  handlers = [];
  seen = [];
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const SECRET = 'cnr_fake_thekeymustneverleak0000000000';

function fake(options: ClientOptions = {}): { client: ConnectrClient; sleeps: number[] } {
  const sleeps: number[] = [];
  const client = new ConnectrClient({
    baseUrl: url,
    apiKey: SECRET,
    env: {},
    random: () => 0.5,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
  return { client, sleeps };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_request, response) => {
    response.writeHead(status, {
      'content-type': 'application/json',
      'x-request-id': 'req-fake-1',
      ...headers,
    });
    response.end(JSON.stringify(body));
  };

const envelope = (
  code: string,
  message = code,
): { error: { code: string; message: string; details: [] } } => ({
  error: { code, message, details: [] },
});

const EXECUTE = { connection_id: 'conn_abc', endpoint: 'list_messages' };

describe('retries', () => {
  it('retries a GET on 429/502/503/504 with exponential back-off and jitter', async () => {
    handlers = [
      json(429, envelope('rate_limited')),
      json(502, envelope('upstream')),
      json(503, envelope('unavailable')),
      json(504, envelope('timeout')),
      json(200, { connectors: [] }),
    ];
    const { client, sleeps } = fake({ maxRetries: 4 });
    expect(await client.listConnectors()).toEqual([]);
    expect(seen).toHaveLength(5);
    // base 500 ms doubled per retry, half fixed and half random (random() = 0.5).
    expect(sleeps).toEqual([375, 750, 1500, 3000]);
  });

  it('caps the back-off at maxRetryDelayMs', async () => {
    handlers = [
      json(503, envelope('unavailable')),
      json(503, envelope('unavailable')),
      json(200, { connectors: [] }),
    ];
    const { client, sleeps } = fake({ maxRetries: 5, retryBaseMs: 10_000, maxRetryDelayMs: 4000 });
    await client.listConnectors();
    expect(sleeps).toEqual([3000, 3000]);
  });

  it('honours Retry-After in seconds, and as an HTTP date', async () => {
    handlers = [json(429, envelope('rate_limited'), { 'retry-after': '7' }), json(200, { connectors: [] })];
    const first = fake();
    await first.client.listConnectors();
    expect(first.sleeps).toEqual([7000]);

    const date = new Date(Date.now() + 5000).toUTCString();
    handlers = [json(503, envelope('unavailable'), { 'retry-after': date }), json(200, { connectors: [] })];
    const second = fake();
    await second.client.listConnectors();
    expect(second.sleeps).toHaveLength(1);
    expect(second.sleeps[0]).toBeGreaterThan(3000);
    expect(second.sleeps[0]).toBeLessThanOrEqual(5000);
  });

  it('caps Retry-After at maxRetryAfterMs', async () => {
    handlers = [
      json(503, envelope('unavailable'), { 'retry-after': '86400' }),
      json(200, { connectors: [] }),
    ];
    const { client, sleeps } = fake({ maxRetryAfterMs: 30_000 });
    await client.listConnectors();
    expect(sleeps).toEqual([30_000]);
  });

  it('parses Retry-After strictly', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:28:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 21 Oct 2026 07:27:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('gives up after maxRetries with the typed error of the last answer', async () => {
    handlers = [json(503, envelope('unavailable', 'the database is away'), { 'retry-after': '1' })];
    const { client, sleeps } = fake({ maxRetries: 2 });
    const error = await client.listConnectors().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as ConnectrError).status).toBe(503);
    expect((error as ConnectrError).requestId).toBe('req-fake-1');
    expect(seen).toHaveLength(3);
    expect(sleeps).toEqual([1000, 1000]);
  });

  it('does not retry other errors', async () => {
    handlers = [json(404, envelope('not_found')), json(200, { connectors: [] })];
    const { client } = fake();
    await expect(client.getConnection('conn_x')).rejects.toBeInstanceOf(NotFoundError);
    expect(seen).toHaveLength(1);
  });

  it('retries PUT and DELETE (idempotent)', async () => {
    handlers = [json(503, envelope('unavailable')), json(200, { deleted: true, revoked: false })];
    const { client } = fake();
    await client.deleteConnection('conn_x');
    expect(seen.map((s) => s.method)).toEqual(['DELETE', 'DELETE']);
  });

  it('never retries a POST (execute, create) unless asked', async () => {
    handlers = [
      json(503, envelope('unavailable')),
      json(200, { status: 200, headers: {}, content_type: null, encoding: 'none', body: null }),
    ];
    const { client, sleeps } = fake();
    await expect(client.execute(EXECUTE)).rejects.toBeInstanceOf(UnavailableError);
    expect(seen).toHaveLength(1);
    expect(sleeps).toEqual([]);

    seen = [];
    handlers = [json(502, envelope('upstream'))];
    await expect(client.createConnection({ connector_type: 'gmail', name: 'x' })).rejects.toBeInstanceOf(
      UpstreamError,
    );
    expect(seen).toHaveLength(1);
  });

  it('retries execute when the call says so', async () => {
    handlers = [
      json(429, envelope('rate_limited'), { 'retry-after': '2' }),
      json(200, { status: 200, headers: {}, content_type: null, encoding: 'none', body: null }),
    ];
    const { client, sleeps } = fake();
    const result = await client.execute(EXECUTE, { retry: true });
    expect(result.encoding).toBe('none');
    expect(seen).toHaveLength(2);
    expect(sleeps).toEqual([2000]);
  });

  it('maxRetries: 0 per call turns retries off', async () => {
    handlers = [json(503, envelope('unavailable')), json(200, { connectors: [] })];
    const { client } = fake();
    await expect(client.listConnectors({ maxRetries: 0 })).rejects.toBeInstanceOf(UnavailableError);
    expect(seen).toHaveLength(1);
  });
});

describe('connection errors and time-outs', () => {
  async function closedPort(): Promise<string> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return `http://127.0.0.1:${port}`;
  }

  it('a refused connection is a ConnectrConnectionError, retried for a GET', async () => {
    const { client, sleeps } = fake({ baseUrl: await closedPort(), maxRetries: 2 });
    const error = await client.listConnectors().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectrConnectionError);
    expect((error as ConnectrError).code).toBe('connection_error');
    expect((error as ConnectrError).message).toContain('ECONNREFUSED');
    expect((error as ConnectrError).message).not.toContain(SECRET);
    expect(sleeps).toHaveLength(2);
  });

  it('a refused connection is not retried for a POST', async () => {
    const { client, sleeps } = fake({ baseUrl: await closedPort() });
    await expect(client.execute(EXECUTE)).rejects.toBeInstanceOf(ConnectrConnectionError);
    expect(sleeps).toHaveLength(0);
  });

  it('no answer in time is a ConnectrTimeoutError, retried for a GET', async () => {
    handlers = [() => undefined]; // never answers
    const { client, sleeps } = fake({ timeoutMs: 150, maxRetries: 1 });
    const started = Date.now();
    const error = await client.getConnection('conn_x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectrTimeoutError);
    expect((error as ConnectrError).code).toBe('client_timeout');
    expect(seen).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a body that stalls is a ConnectrTimeoutError', async () => {
    handlers = [
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"connectors": [');
      },
    ];
    const { client } = fake({ timeoutMs: 150, maxRetries: 0 });
    await expect(client.listConnectors()).rejects.toBeInstanceOf(ConnectrTimeoutError);
  });

  it('a per-call time-out overrides the client one', async () => {
    handlers = [() => undefined];
    const { client } = fake({ timeoutMs: 60_000, maxRetries: 0 });
    await expect(client.health({ timeoutMs: 100 })).rejects.toBeInstanceOf(ConnectrTimeoutError);
  });

  it("the caller's abort stops the call at once, without retries", async () => {
    handlers = [() => undefined];
    const { client, sleeps } = fake();
    const controller = new AbortController();
    const call = client.listConnectors({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stop')), 50);
    await expect(call).rejects.toThrow('stop');
    expect(sleeps).toHaveLength(0);
  });
});

describe('errors', () => {
  it('maps the envelope to its class, with details, hint and request id', async () => {
    handlers = [
      json(400, {
        error: {
          code: 'invalid_input',
          message: 'invalid body.name',
          details: [{ field: 'body.name', message: 'name must not be blank' }],
          hint: 'fix the fields named in details',
        },
      }),
    ];
    const { client } = fake();
    const error = (await client
      .createConnection({ connector_type: 'gmail', name: ' ' })
      .catch((e: unknown) => e)) as ConnectrError;
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.name).toBe('InvalidInputError');
    expect(error.field).toBe('body.name');
    expect(error.hint).toBe('fix the fields named in details');
    expect(error.requestId).toBe('req-fake-1');
  });

  it('an unknown code is a plain ConnectrError; a non-envelope answer keeps its status', async () => {
    handlers = [json(418, envelope('teapot'))];
    const { client } = fake();
    const unknown = (await client.health().catch((e: unknown) => e)) as ConnectrError;
    expect(unknown.constructor).toBe(ConnectrError);
    expect(unknown.code).toBe('teapot');
    handlers = [
      (_request, response) => {
        response.writeHead(500, { 'content-type': 'text/html' });
        response.end('<html>oops</html>');
      },
    ];
    const html = (await client.health().catch((e: unknown) => e)) as ConnectrError;
    expect(html.code).toBe('http_500');
    expect(html.status).toBe(500);
  });

  it('sends the key as a bearer header, and never to /health', async () => {
    handlers = [json(200, { status: 'ok', version: '1' })];
    const { client } = fake();
    await client.health();
    handlers = [json(200, { connectors: [] })];
    await client.listConnectors();
    expect(seen.map((s) => s.authorization)).toEqual([undefined, `Bearer ${SECRET}`]);
  });
});

describe('the NDJSON stream of execute all', () => {
  const ndjson =
    (lines: string[], end: 'end' | 'destroy' | 'stall' = 'end'): Handler =>
    (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-request-id': 'req-stream' });
      for (const line of lines) response.write(line);
      if (end === 'end') response.end();
      else if (end === 'destroy') setTimeout(() => response.destroy(), 20);
    };

  async function collect(client: ConnectrClient): Promise<{ items: unknown[]; error: unknown }> {
    const items: unknown[] = [];
    try {
      for await (const item of client.executeAll(EXECUTE)) items.push(item);
    } catch (error) {
      return { items, error };
    }
    return { items, error: undefined };
  }

  it('reads items split across chunks, and an error line after them becomes a typed error', async () => {
    handlers = [
      ndjson([
        '{"id":"m1"}\n{"id":',
        '"m2"}\n',
        '{"error":{"code":"upstream","message":"gmail answered 500","details":[],"hint":"try later"}}\n',
      ]),
    ];
    const { client } = fake();
    const { items, error } = await collect(client);
    expect(items).toEqual([{ id: 'm1' }, { id: 'm2' }]);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as ConnectrError).message).toBe('gmail answered 500');
    expect((error as ConnectrError).hint).toBe('try later');
    expect((error as ConnectrError).requestId).toBe('req-stream');
  });

  it('sends all: true with limit and max_pages', async () => {
    let sent: unknown;
    handlers = [
      (request, response, body) => {
        sent = JSON.parse(body.toString());
        ndjson(['{"id":1}\n'])(request, response, body);
      },
    ];
    const { client } = fake();
    for await (const _ of client.executeAll({ ...EXECUTE, params: { q: 'x' }, limit: 5, max_pages: 2 }));
    expect(sent).toEqual({ ...EXECUTE, params: { q: 'x' }, all: true, limit: 5, max_pages: 2 });
  });

  it('a stream cut in the middle is a ConnectrConnectionError after the items before it', async () => {
    handlers = [ndjson(['{"id":"m1"}\n{"id":"m'], 'destroy')];
    const { client } = fake();
    const { items, error } = await collect(client);
    expect(items).toEqual([{ id: 'm1' }]);
    expect(error).toBeInstanceOf(ConnectrConnectionError);
  });

  it('a stream that stalls is a ConnectrTimeoutError', async () => {
    handlers = [ndjson(['{"id":"m1"}\n'], 'stall')];
    const { client } = fake({ timeoutMs: 150 });
    const { items, error } = await collect(client);
    expect(items).toEqual([{ id: 'm1' }]);
    expect(error).toBeInstanceOf(ConnectrTimeoutError);
  });

  it('a line that is not JSON is an error, not a crash', async () => {
    handlers = [ndjson(['{"id":"m1"}\n<html>\n'])];
    const { client } = fake();
    const { items, error } = await collect(client);
    expect(items).toHaveLength(1);
    expect(error).toBeInstanceOf(ConnectrError);
  });

  it('is read incrementally: the first item arrives before the stream ends', async () => {
    let finish: (() => void) | undefined;
    handlers = [
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/x-ndjson' });
        response.write('{"id":"first"}\n');
        finish = () => response.end('{"id":"last"}\n');
      },
    ];
    const { client } = fake();
    const iterator = client.executeAll(EXECUTE)[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: { id: 'first' } });
    expect(finish).toBeDefined();
    finish?.();
    expect(await iterator.next()).toEqual({ done: false, value: { id: 'last' } });
    expect((await iterator.next()).done).toBe(true);
  });
});

describe('the raw proxy', () => {
  it('retries a GET on 503 but never replays a streamed body', async () => {
    handlers = [json(503, envelope('unavailable')), json(200, { ok: true })];
    const { client, sleeps } = fake();
    const response = await client.proxy('conn_x', 'v1/things');
    expect(response.status).toBe(200);
    expect(sleeps).toHaveLength(1);

    seen = [];
    handlers = [json(503, envelope('unavailable')), json(200, { ok: true })];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('data'));
        controller.close();
      },
    });
    const put = await client.proxy('conn_x', 'v1/things', { method: 'PUT', body });
    expect(put.status).toBe(503);
    expect(seen).toHaveLength(1);
  });

  it('passes the query and the host header', async () => {
    let host: string | undefined;
    handlers = [
      (request, response) => {
        host = request.headers['x-connectr-host'] as string | undefined;
        json(200, {})(request, response, Buffer.alloc(0));
      },
    ];
    const { client } = fake();
    await client.proxy('conn_x', '/v1/list', { query: { q: 'a b', n: 2, tag: ['x', 'y'] }, host: 'content' });
    expect(seen[0]?.path).toBe('/api/v1/connections/conn_x/proxy/v1/list?q=a+b&n=2&tag=x&tag=y');
    expect(host).toBe('content');
  });

  it('sends bytes and strings as they are, and keeps a bodiless answer bodiless', async () => {
    const received: string[] = [];
    handlers = [
      (request, response, body) => {
        received.push(body.toString('latin1'));
        json(200, {})(request, response, body);
      },
    ];
    const { client } = fake();
    await client.proxy('conn_x', 'a', { method: 'POST', body: new Uint8Array([104, 105, 255]) });
    await client.proxy('conn_x', 'a', { method: 'PUT', body: 'text body' });
    expect(received).toEqual(['hi\u00ff', 'text body']);
    handlers = [
      (_request, response) => {
        response.writeHead(204, { 'x-request-id': 'r' });
        response.end();
      },
    ];
    const empty = await client.proxy('conn_x', 'a', { method: 'DELETE' });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
    const head = await client.proxy('conn_x', 'a', { method: 'HEAD' });
    expect(head.status).toBe(204);
  });

  it('gives back a redirect as it is, never following it', async () => {
    handlers = [
      (_request, response) => {
        response.writeHead(302, { location: 'https://elsewhere.example/x' });
        response.end();
      },
    ];
    const { client } = fake();
    const response = await client.proxy('conn_x', 'a');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('https://elsewhere.example/x');
    expect(seen).toHaveLength(1);
  });

  it('accepts an async iterable body (e.g. a file stream)', async () => {
    let received = '';
    handlers = [
      (request, response, body) => {
        received = body.toString();
        json(200, {})(request, response, body);
      },
    ];
    const { client } = fake();
    async function* parts(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('hello ');
      yield new TextEncoder().encode('world');
    }
    await client.proxy('conn_x', 'upload', { method: 'POST', body: parts() });
    expect(received).toBe('hello world');
  });
});

describe('the client', () => {
  it('refuses a bad base URL and bad numbers', () => {
    expect(() => new ConnectrClient({ baseUrl: 'not a url', env: {} })).toThrow(InvalidInputError);
    expect(() => new ConnectrClient({ baseUrl: 'ftp://x', env: {} })).toThrow(InvalidInputError);
    expect(() => new ConnectrClient({ baseUrl: 'http://u:p@x', env: {} })).toThrow(InvalidInputError);
    expect(() => new ConnectrClient({ timeoutMs: 0, env: {} })).toThrow(InvalidInputError);
    expect(() => new ConnectrClient({ maxRetries: -1, env: {} })).toThrow(InvalidInputError);
  });

  it('iterConnections follows cursors and stops on a server that repeats one', async () => {
    const connection = { id: 'conn_a' };
    handlers = [
      json(200, { connections: [connection], next_cursor: 'c1' }),
      json(200, { connections: [connection], next_cursor: 'c2' }),
      json(200, { connections: [connection], next_cursor: 'c1' }),
    ];
    const { client } = fake();
    const ids: string[] = [];
    const walk = async (): Promise<void> => {
      for await (const c of client.iterConnections({ user_id: 'u' })) ids.push(c.id);
    };
    await expect(walk()).rejects.toThrow('same cursor twice');
    expect(ids).toHaveLength(3);
    expect(seen.map((s) => s.path)).toEqual([
      '/api/v1/connections?user_id=u',
      '/api/v1/connections?user_id=u&cursor=c1',
      '/api/v1/connections?user_id=u&cursor=c2',
    ]);
  });

  it('refuses a header with CR/LF before sending anything, without retrying', async () => {
    handlers = [json(200, {})];
    const { client, sleeps } = fake();
    const error = (await client
      .proxy('conn_x', 'a', { headers: { 'x-note': 'a\r\nInjected: yes' } })
      .catch((e: unknown) => e)) as ConnectrError;
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.field).toBe('headers.x-note');
    expect(error.message).not.toContain('Injected');
    expect(seen).toHaveLength(0);
    expect(sleeps).toHaveLength(0);
  });

  it('encodes ids into the path', async () => {
    handlers = [json(200, {})];
    const { client } = fake();
    await client.getConnection('../connectors');
    expect(seen[0]?.path).toBe('/api/v1/connections/..%2Fconnectors');
  });
});
