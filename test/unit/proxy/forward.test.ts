import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConnector } from '../../../src/core/connector/load.js';
import type { Connector } from '../../../src/core/connector/model.js';
import type { Credential, CredentialSource } from '../../../src/core/engine/credential.js';
import { ConnectrError } from '../../../src/core/errors.js';
import { FieldError } from '../../../src/core/field-error.js';
import { answerHeaders, forward, prepareRawProxy } from '../../../src/core/proxy/forward.js';
import type { ForwardDeps, RawProxyRequest } from '../../../src/core/proxy/forward.js';

/**
 * The raw proxy's forwarding (core/proxy/forward.ts) on its own, against a real HTTP server on
 * 127.0.0.1: the credential on the request, 401 -> refresh -> replay only without a body, both
 * bodies streamed, and every network fault a ConnectrError that names no query.
 */

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let origin: string;
let handler: Handler;
const seen: Seen[] = [];
const dispatcher = new Agent({ headersTimeout: 2_000, bodyTimeout: 2_000 });

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await dispatcher.close();
});

beforeEach(() => {
  seen.length = 0;
  // By default: 401 unless the bearer token is "fresh".
  handler = (req, res) => {
    req.resume();
    const ok = req.headers.authorization === 'Bearer fresh' || req.headers.authorization === undefined;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'text/plain' });
    res.end(ok ? 'ok' : 'refused');
  };
});

function connector(auth = '  type: none\n', base = `${origin}/v1`): Connector {
  const yaml = `name: acme\ndisplay_name: Acme\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\nhosts:\n  api: ${base}\n  files: ${base}/files\nauth:\n${auth}endpoints:\n  ping:\n    summary: Ping.\n    method: GET\n    path: /ping\n`;
  const parsed = parseConnector(yaml, { file: 'acme.yaml', origin: 'extra' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.connector;
}

/** A source handing out `first`, then `fresh` on a forced refresh; it counts what it was asked. */
function source(first: Credential, refreshable: boolean): CredentialSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    credential(options = {}) {
      asked.push(options.forceRefresh ? 'refresh' : 'credential');
      const credential: Credential = options.forceRefresh ? { kind: 'bearer', token: 'fresh' } : first;
      return Promise.resolve({ credential, refreshable });
    },
  };
}

function prepared(
  path: string,
  options: { method?: string; query?: string; headers?: IncomingHttpHeaders; connector?: Connector } = {},
): RawProxyRequest {
  return prepareRawProxy({
    connector: options.connector ?? connector(),
    env: {},
    method: options.method ?? 'GET',
    path,
    query: options.query ?? '',
    headers: options.headers ?? {},
  });
}

function deps(credentials: CredentialSource, more: Partial<ForwardDeps> = {}): ForwardDeps {
  return { dispatcher, credentials, timeoutMs: 2_000, ...more };
}

async function failure(promise: Promise<unknown>): Promise<ConnectrError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConnectrError) return error;
    throw error;
  }
  throw new Error('it did not fail');
}

describe('prepareRawProxy', () => {
  it("places the path under the host's base URL and picks the host x-connectr-host names", () => {
    const request = prepared('items/1', { headers: { 'x-connectr-host': 'files' } });
    expect(request.target.href).toBe(`${origin}/v1/files/items/1`);
    expect(request.host.key).toBe('files');
  });

  it('refuses a path leaving the base path, an unknown host and a URL override header, naming the field', () => {
    for (const [make, field] of [
      [() => prepared('a/%2e%2e/%2e%2e/admin'), 'params.path'],
      [() => prepared('a', { headers: { 'x-connectr-host': 'evil.example' } }), 'headers.x-connectr-host'],
      [() => prepared('a', { headers: { 'x-original-url': '/admin' } }), 'headers.x-original-url'],
    ] as const) {
      let caught: unknown;
      try {
        make();
      } catch (error) {
        caught = error;
      }
      expect(caught, field).toBeInstanceOf(FieldError);
      expect((caught as FieldError).field).toBe(field);
    }
  });

  it("never forwards the caller's key, cookies or forwarding trail; names itself", () => {
    const request = prepared('a', {
      headers: {
        authorization: 'Bearer connectr-api-key',
        cookie: 'session=1',
        'x-forwarded-for': '10.0.0.1',
        accept: 'application/json',
      },
    });
    expect(Object.keys(request.headers).sort()).toEqual(['accept', 'user-agent']);
    expect(request.headers.accept).toBe('application/json');
    expect(request.headers['user-agent']).toMatch(/^connectr\//);
  });
});

describe('forward', () => {
  it('adds the credential: a bearer token in Authorization, an API key in its header', async () => {
    await (await forward(prepared('a'), deps(source({ kind: 'bearer', token: 'fresh' }, false)))).body.dump();
    expect(seen.at(-1)?.headers.authorization).toBe('Bearer fresh');

    const keyed = connector('  type: api_key\n  in: header\n  name: X-Api-Key\n');
    const request = prepared('a', { connector: keyed, headers: { 'x-api-key': 'the caller’s own' } });
    await (await forward(request, deps(source({ kind: 'api_key', key: 'k1' }, false)))).body.dump();
    expect(seen.at(-1)?.headers['x-api-key']).toBe('k1');
  });

  it("appends an API key in the query after the caller's query, kept as it was written", async () => {
    const keyed = connector('  type: api_key\n  in: query\n  name: key\n');
    const request = prepared('a', { connector: keyed, query: 'x=1;y=%3B&q=it%27s' });
    await (await forward(request, deps(source({ kind: 'api_key', key: 's e/cret' }, false)))).body.dump();
    expect(seen.at(-1)?.url).toBe('/v1/a?x=1;y=%3B&q=it%27s&key=s%20e%2Fcret');
  });

  it('refreshes a refused token once and replays a request without a body', async () => {
    const credentials = source({ kind: 'bearer', token: 'stale' }, true);
    const statuses: number[] = [];
    const response = await forward(
      prepared('a'),
      deps(credentials, { onResponse: (status) => statuses.push(status) }),
    );
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('ok');
    expect(credentials.asked).toEqual(['credential', 'refresh']);
    expect(statuses).toEqual([401, 200]);
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer stale', 'Bearer fresh']);
  });

  it('passes a 401 back as it is when the body was streamed (it cannot be sent again) or the token cannot be refreshed', async () => {
    const credentials = source({ kind: 'bearer', token: 'stale' }, true);
    const upload = new PassThrough();
    upload.end('a body sent once');
    const withBody = await forward(
      prepared('a', { method: 'POST', headers: { 'content-length': '16' } }),
      deps(credentials, { body: () => upload }),
    );
    expect(withBody.statusCode).toBe(401);
    expect(await withBody.body.text()).toBe('refused');
    expect(credentials.asked).toEqual(['credential']);

    const fixed = source({ kind: 'bearer', token: 'stale' }, false);
    const final = await forward(prepared('a'), deps(fixed));
    expect(final.statusCode).toBe(401);
    await final.body.dump();
    expect(fixed.asked).toEqual(['credential']);
    expect(seen).toHaveLength(2);
  });

  it('streams both ways: the answer starts before the upload ends, and arrives piece by piece', async () => {
    let release: () => void = () => undefined;
    handler = (req, res) => {
      req.once('data', () => {
        // The first piece of the upload is here while the caller still holds the rest.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write('first;');
        release = () => {
          req.resume();
          req.once('end', () => res.end('last'));
        };
      });
    };
    const upload = new PassThrough();
    upload.write('piece 1;');
    const response = await forward(
      prepared('up', { method: 'PUT', headers: { 'transfer-encoding': 'chunked' } }),
      deps(source({ kind: 'none' }, false), { body: () => upload }),
    );
    expect(response.statusCode).toBe(200);
    expect(upload.writableEnded).toBe(false);
    const chunks: string[] = [];
    const reading = (async () => {
      for await (const chunk of response.body) chunks.push(String(chunk));
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(chunks.join('')).toBe('first;');
    release();
    upload.end('piece 2');
    await reading;
    expect(chunks.join('')).toBe('first;last');
  });

  it("names the host's variable when the API cannot be reached, and never the query", async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const down = connector('  type: api_key\n  in: query\n  name: key\n', `http://127.0.0.1:${port}`);
    const error = await failure(
      forward(
        prepared('a', { connector: down, query: 'q=private' }),
        deps(source({ kind: 'api_key', key: 'secret-key' }, false)),
      ),
    );
    expect(error.code).toBe('upstream');
    expect(error.message).toBe(`GET 127.0.0.1:${port}/a failed: connection refused`);
    expect(error.hint).toContain('CONNECTR_ACME_API_BASE_URL');
    expect(`${error.message} ${error.hint}`).not.toMatch(/secret-key|private/);
  });

  it('is a timeout when the API does not answer in time, cancelled when the caller goes away', async () => {
    handler = (req) => {
      req.resume();
    };
    const slow = new Agent({ headersTimeout: 100 });
    try {
      const timedOut = await failure(
        forward(prepared('a'), {
          ...deps(source({ kind: 'none' }, false)),
          dispatcher: slow,
          timeoutMs: 100,
        }),
      );
      expect(timedOut.code).toBe('timeout');
      expect(timedOut.hint).toContain('within 0.1 s');
    } finally {
      await slow.destroy();
    }

    const gone = new AbortController();
    const pending = forward(prepared('a'), deps(source({ kind: 'none' }, false), { signal: gone.signal }));
    setTimeout(() => gone.abort(), 50);
    const cancelled = await failure(pending);
    expect(cancelled.code).toBe('cancelled');
  });

  it('refuses a status HTTP does not define, dropping the body', async () => {
    handler = (req, res) => {
      req.resume();
      res.socket?.end('HTTP/1.1 600 Odd\r\ncontent-length: 2\r\n\r\nno');
    };
    const error = await failure(forward(prepared('a'), deps(source({ kind: 'none' }, false))));
    expect(error.code).toBe('upstream');
    expect(error.message).toContain('HTTP status 600');
  });

  it('gives the answer headers back without cookies, with links on the host mapped through the proxy', () => {
    const request = prepared('a');
    const headers = answerHeaders(
      request,
      {
        'set-cookie': ['s=1'],
        link: `<${origin}/v1/a?page=2>; rel="next"`,
        location: 'https://elsewhere.example/x',
        'content-type': 'text/plain',
      },
      () => 'https://connectr.example/api/v1/connections/conn_1/proxy',
    );
    expect(headers).toEqual({
      link: '<https://connectr.example/api/v1/connections/conn_1/proxy/a?page=2>; rel="next"',
      location: 'https://elsewhere.example/x',
      'content-type': 'text/plain',
    });
  });
});
