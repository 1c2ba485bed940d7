import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { Registry, loadRegistry } from '../../src/core/connector/registry.js';
import { ConnectrError } from '../../src/core/errors.js';
import { ERROR_CODES } from '../../src/core/errors.js';
import { closeGracefully } from '../../src/server/close.js';
import { httpStatusFor } from '../../src/server/errors.js';
import { parseCorsOrigin } from '../../src/server/plugins/cors.js';
import { redactUrl } from '../../src/server/plugins/logging.js';
import type { App } from '../../src/server/types.js';
import type { TestServer } from './helpers.js';
import { KEY, LogCapture, builtinRegistry, testServer } from './helpers.js';
import { BUILTIN_CONNECTORS } from '../helpers/builtin.js';

interface Envelope {
  error: { code: string; message: string; details: { field?: string; message: string }[]; hint?: string };
}

const open: App[] = [];
async function server(options: Parameters<typeof testServer>[0] = {}): Promise<TestServer> {
  const s = await testServer(options);
  open.push(s.app);
  return s;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('public routes', () => {
  it('/health answers without a key, with a request id', async () => {
    const { app } = await server();
    const res = await app.inject({ url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(UUID);
  });

  it('/ready is 200 when the store is ready, a 503 envelope when it is down, crashed or hung', async () => {
    const { app, readiness } = await server({ readyTimeoutMs: 200 });
    expect((await app.inject({ url: '/ready' })).json()).toEqual({ status: 'ready' });
    for (const state of ['down', 'crash', 'hang'] as const) {
      readiness.state = state;
      const started = Date.now();
      const res = await app.inject({ url: '/ready' });
      expect(res.statusCode, state).toBe(503);
      expect(res.json<Envelope>().error.code).toBe('unavailable');
      expect(Date.now() - started).toBeLessThan(3000);
    }
  });
});

describe('API keys', () => {
  it('missing, malformed, unknown and revoked keys get 401 with WWW-Authenticate; a valid key passes', async () => {
    const { app, keys } = await server();
    keys.add('revoked-key-123');
    keys.revoke('revoked-key-123');
    const cases: [string | undefined, string][] = [
      [undefined, 'Bearer realm="connectr"'],
      ['', 'Bearer realm="connectr"'],
      ['Basic dXNlcjpwYXNz', 'error="invalid_token"'],
      ['Bearer', 'error="invalid_token"'],
      ['Bearer a b', 'error="invalid_token"'],
      ['Bearer unknown-key', 'error="invalid_token"'],
      ['Bearer revoked-key-123', 'error="invalid_token"'],
      [`Bearer ${'x'.repeat(5000)}`, 'error="invalid_token"'],
    ];
    for (const [authorization, challenge] of cases) {
      const res = await app.inject({
        url: '/api/v1/connectors',
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(res.statusCode, String(authorization).slice(0, 30)).toBe(401);
      expect(res.headers['www-authenticate']).toContain(challenge);
      expect(res.json<Envelope>().error.code).toBe('auth_required');
    }
    // An over-long header is refused before the store is asked.
    expect(keys.seen.some((s) => s.length > 1000)).toBe(false);
    const ok = await app.inject({ url: '/api/v1/connectors', headers: { authorization: `bearer  ${KEY}` } });
    expect(ok.statusCode).toBe(200);
  });

  it('a store failure while verifying is a 503, not a 401 or a 500', async () => {
    const { app, keys } = await server();
    keys.verify = () => Promise.reject(new ConnectrError('unavailable', 'database down'));
    const res = await app.inject({ url: '/api/v1/connectors', headers: { authorization: `Bearer ${KEY}` } });
    expect(res.statusCode).toBe(503);
  });
});

describe('connector routes', () => {
  it('GET /api/v1/connectors lists every built-in connector in snake_case', async () => {
    const { app, auth } = await server();
    const res = await app.inject({ url: '/api/v1/connectors', headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ connectors: Record<string, unknown>[] }>();
    expect(body.connectors.map((c) => c.name)).toEqual(BUILTIN_CONNECTORS);
    expect(body.connectors.find((c) => c.name === 'gmail')).toEqual({
      name: 'gmail',
      display_name: 'Gmail',
      description: expect.any(String) as string,
      version: expect.any(String) as string,
      docs_url: expect.stringMatching(/^https:/) as string,
      auth_type: 'oauth2',
      scopes: expect.arrayContaining([expect.stringContaining('gmail')]) as string[],
      endpoint_count: expect.any(Number) as number,
    });
  });

  it('GET /api/v1/connectors/{name} and /endpoints describe endpoints and params, never env names or secret defaults', async () => {
    const { app, auth } = await server();
    const res = await app.inject({ url: '/api/v1/connectors/dropbox', headers: auth });
    expect(res.statusCode).toBe(200);
    const text = res.body;
    for (const forbidden of [
      '_env',
      'CONNECTR_',
      'CLIENT_ID',
      'CLIENT_SECRET',
      'client_secret',
      'wireName',
      '"flag"',
    ])
      expect(text).not.toContain(forbidden);
    const connector = res.json<{
      auth: { type: string; grants: string[] };
      hosts: { name: string; url: string }[];
      endpoints: {
        name: string;
        params: Record<string, unknown>[];
        pagination: unknown;
        response_kind: string;
      }[];
    }>();
    expect(connector.auth.type).toBe('oauth2');
    expect(connector.hosts.every((h) => h.url.startsWith('https://'))).toBe(true);
    const listFolder = connector.endpoints.find((e) => e.name === 'list_folder');
    expect(listFolder).toMatchObject({
      method: 'POST',
      pagination: { style: 'cursor' },
      response_kind: expect.any(String) as string,
    });
    expect(listFolder?.params.find((p) => p.name === 'path')).toMatchObject({
      type: 'string',
      required: expect.any(Boolean) as boolean,
      location: expect.any(String) as string,
      secret: false,
    });
    const secret = connector.endpoints.flatMap((e) => e.params).find((p) => p.secret === true);
    expect(secret).toBeDefined();
    expect(secret).not.toHaveProperty('default');

    const endpoints = await app.inject({ url: '/api/v1/connectors/dropbox/endpoints', headers: auth });
    expect(endpoints.statusCode).toBe(200);
    expect(endpoints.json<{ connector: string; endpoints: unknown[] }>()).toEqual({
      connector: 'dropbox',
      endpoints: connector.endpoints,
    });
  });

  it("a connector's env names, API-key header and a secret param's default never reach the answer", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'connectr-server-'));
    try {
      writeFileSync(
        join(dir, 'acme.yaml'),
        [
          'name: acme',
          'display_name: Acme',
          'version: 1',
          'docs_url: https://acme.example.com/docs',
          'description: Acme API.',
          'hosts:',
          '  api: { url: "https://api.acme.example.com", env: ACME_PRIVATE_BASE }',
          'auth: { type: api_key, in: header, name: X-Acme-Key, env: ACME_SECRET_KEY_VAR }',
          'endpoints:',
          '  login:',
          '    summary: Log in.',
          '    method: POST',
          '    path: /login',
          '    params:',
          '      password: { in: body, secret: true, default: hunter2-default }',
          '      user: { in: body, default: bob }',
        ].join('\n'),
      );
      const registry = await loadRegistry({ extraDirs: [dir] });
      expect(registry.invalid).toEqual([]);
      const { app, auth } = await server({ registry: () => Promise.resolve(registry) });
      const res = await app.inject({ url: '/api/v1/connectors/acme', headers: auth });
      expect(res.statusCode).toBe(200);
      for (const secret of ['ACME_PRIVATE_BASE', 'ACME_SECRET_KEY_VAR', 'hunter2-default', 'X-Acme-Key'])
        expect(res.body, secret).not.toContain(secret);
      const params = res.json<{ endpoints: { params: { name: string; default?: unknown }[] }[] }>()
        .endpoints[0]?.params;
      expect(params?.find((p) => p.name === 'user')?.default).toBe('bob');
      expect(params?.find((p) => p.name === 'password')).not.toHaveProperty('default');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown connector is a 404 suggesting the nearest name; a malformed one a 400 naming the field', async () => {
    const { app, auth } = await server();
    const unknown = await app.inject({ url: '/api/v1/connectors/gmial/endpoints', headers: auth });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<Envelope>().error).toMatchObject({
      code: 'not_found',
      hint: expect.stringContaining('"gmail"') as string,
    });
    for (const bad of ['Gmail', '..%2F..%2Fetc', '__proto__x!', 'a'.repeat(100)]) {
      const res = await app.inject({ url: `/api/v1/connectors/${bad}`, headers: auth });
      expect(res.statusCode, bad).toBe(400);
      const error = res.json<Envelope>().error;
      expect(error.code).toBe('invalid_input');
      expect(error.details[0]?.field).toBe('params.name');
    }
  });
});

describe('errors', () => {
  /** A route with a JSON body, as the later POST routes have, to drive the body faults. */
  async function withBodyRoute(bodyLimit = 1024): Promise<TestServer> {
    const s = await server({ bodyLimit });
    s.app.post(
      '/api/v1/test-body',
      { schema: { body: z.object({ user_id: z.string(), limit: z.number().int() }) } },
      (request) => request.body,
    );
    s.app.get('/api/v1/test-crash', () => {
      throw new Error('database password=hunter2 at /srv/secret.js:12');
    });
    return s;
  }
  const json = { 'content-type': 'application/json' };

  it('every ConnectrError code has one HTTP status', () => {
    expect(Object.fromEntries(ERROR_CODES.map((code) => [code, httpStatusFor(code)]))).toEqual({
      usage: 400,
      invalid_input: 400,
      invalid_connector: 400,
      not_found: 404,
      auth_required: 401,
      auth_expired: 401,
      needs_reauth: 409,
      refreshed_token_rejected: 502,
      upstream: 502,
      follow_refused: 502,
      unavailable: 503,
      timeout: 504,
      cancelled: 503,
      internal: 500,
      // Once HttpError's: the statuses clients saw before stay.
      forbidden: 403,
      conflict: 409,
      too_many_sign_ins: 429,
      rate_limited: 429,
      payload_too_large: 413,
      not_acceptable: 406,
    });
  });

  it('malformed JSON, an empty JSON body, wrong types, a huge body and a foreign content type are 4xx envelopes', async () => {
    const { app, auth } = await withBodyRoute();
    const post = (payload: string, headers: Record<string, string> = json) =>
      app.inject({ method: 'POST', url: '/api/v1/test-body', headers: { ...auth, ...headers }, payload });
    const malformed = await post('{"user_id": ');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json<Envelope>().error).toMatchObject({
      code: 'invalid_input',
      details: [{ field: 'body' }],
    });
    expect((await post('')).statusCode).toBe(400);
    const wrong = await post(JSON.stringify({ user_id: 7, limit: 1.5 }));
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json<Envelope>().error.details.map((d) => d.field)).toEqual(['body.user_id', 'body.limit']);
    expect(wrong.json<Envelope>().error.details[0]?.message).toMatch(/expected string/);
    const huge = await post(JSON.stringify({ user_id: 'x'.repeat(5000), limit: 1 }));
    expect(huge.statusCode).toBe(413);
    expect(huge.json<Envelope>().error.code).toBe('payload_too_large');
    const xml = await post('<a/>', { 'content-type': 'application/xml' });
    expect(xml.statusCode).toBe(415);
    expect(xml.json<Envelope>().error.code).toBe('unsupported_media_type');
    const ok = await post(JSON.stringify({ user_id: 'u1', limit: 3 }));
    expect(ok.json()).toEqual({ user_id: 'u1', limit: 3 });
  });

  it('an unknown route is a 404 and another method a 405 with Allow, both without a key', async () => {
    const { app } = await server();
    const missing = await app.inject({ url: '/api/v1/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<Envelope>().error.code).toBe('not_found');
    const wrong = await app.inject({ method: 'DELETE', url: '/api/v1/connectors/gmail' });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    expect(wrong.json<Envelope>().error.code).toBe('method_not_allowed');
    const badUrl = await app.inject({ url: '/api/v1/connectors/%E0%A4%A' });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.headers['x-request-id']).toMatch(UUID);
  });

  it('every answer in the error envelope says x-connectr-error: 1; no other answer does', async () => {
    const { app, auth } = await withBodyRoute();
    const errors = [
      await app.inject({ url: '/api/v1/nope' }),
      await app.inject({ method: 'DELETE', url: '/api/v1/connectors/gmail' }),
      await app.inject({ url: '/api/v1/connectors/%E0%A4%A' }),
      await app.inject({ url: '/api/v1/connectors' }),
      await app.inject({ url: '/api/v1/connectors/nope', headers: auth }),
      await app.inject({
        method: 'POST',
        url: '/api/v1/test-body',
        headers: { ...auth, ...json },
        payload: '{',
      }),
      await app.inject({ url: '/api/v1/test-crash', headers: auth }),
      await app.inject({ method: 'GET', url: '/mcp', headers: auth }),
    ];
    for (const res of errors) {
      expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
      expect(res.headers['x-connectr-error'], res.body).toBe('1');
    }
    for (const res of [
      await app.inject({ url: '/health' }),
      await app.inject({ url: '/api/v1/connectors', headers: auth }),
    ]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-connectr-error']).toBeUndefined();
    }
  });

  it('an unexpected failure is a generic 500: no message, no stack; the cause goes to the log', async () => {
    const { app, auth, logs } = await withBodyRoute();
    const res = await app.inject({ url: '/api/v1/test-crash', headers: auth });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      error: {
        code: 'internal',
        message: `internal error (request ${String(res.headers['x-request-id'])}); the server log has the details`,
        details: [],
      },
    });
    expect(res.body).not.toMatch(/hunter2|secret\.js|at /);
    expect(logs.text).toContain('hunter2');
  });
});

describe('request ids', () => {
  it('a sane incoming x-request-id is kept; anything else is replaced, never echoed', async () => {
    const { app } = await server();
    const kept = await app.inject({ url: '/health', headers: { 'x-request-id': 'trace-01:abc.DEF_9' } });
    expect(kept.headers['x-request-id']).toBe('trace-01:abc.DEF_9');
    for (const hostile of ['a'.repeat(129), 'x y', '<script>', 'id;rm -rf', 'é', 'a\tb']) {
      const res = await app.inject({ url: '/health', headers: { 'x-request-id': hostile } });
      expect(res.headers['x-request-id'], hostile).toMatch(UUID);
    }
  });

  it('CR/LF in x-request-id over a real socket never splits the response', async () => {
    const { app } = await server();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write(
        'GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\rSet-Cookie: evil=1\r\nConnection: close\r\n\r\n',
      );
    });
    expect(raw).not.toMatch(/set-cookie/i);
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
  });
});

describe('CORS', () => {
  it('is off by default: no Access-Control headers, and a preflight is not answered', async () => {
    const { app } = await server();
    const res = await app.inject({ url: '/health', headers: { origin: 'https://app.example.com' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/api/v1/connectors',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
    });
    expect(preflight.statusCode).toBe(405);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows exactly the named origins, answers their preflight without a key, and never a wildcard', async () => {
    const { app, auth } = await server({ corsOrigins: ['https://app.example.com'] });
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/api/v1/connectors',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(preflight.headers['access-control-allow-headers']).toContain('authorization');
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
    const get = await app.inject({
      url: '/api/v1/connectors',
      headers: { ...auth, origin: 'https://app.example.com' },
    });
    expect(get.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(get.headers.vary).toContain('Origin');
    const other = await app.inject({
      url: '/api/v1/connectors',
      headers: { ...auth, origin: 'https://evil.example.com' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    for (const bad of [
      '*',
      'https://*.example.com',
      'https://app.example.com/',
      'ftp://x',
      'app.example.com',
    ])
      expect(() => parseCorsOrigin(bad), bad).toThrow(ConnectrError);
  });
});

describe('CORS for browser apps', () => {
  const origin = 'https://app.example.com';
  const preflight = (app: App, url: string, method: string, headers: string) =>
    app.inject({
      method: 'OPTIONS',
      url,
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });
  const allowed = (value: string | string[] | number | undefined): string[] =>
    String(value ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);

  it('a preflight allows every header the API reads from clients, and exposes the ones an app needs', async () => {
    const { app, auth } = await server({ corsOrigins: [origin] });
    const proxy = await preflight(
      app,
      '/api/v1/connections/conn_1/proxy/me/drive/root:/a.txt:/content',
      'PUT',
      'authorization, content-type, x-connectr-host, x-request-id',
    );
    expect(proxy.statusCode).toBe(204);
    for (const name of ['authorization', 'content-type', 'x-connectr-host', 'x-request-id'])
      expect(allowed(proxy.headers['access-control-allow-headers'])).toContain(name);
    expect(allowed(proxy.headers['access-control-allow-methods'])).toContain('put');
    const mcp = await preflight(
      app,
      '/mcp',
      'POST',
      'authorization, content-type, connection-id, mcp-protocol-version',
    );
    expect(mcp.statusCode).toBe(204);
    for (const name of ['connection-id', 'mcp-protocol-version'])
      expect(allowed(mcp.headers['access-control-allow-headers'])).toContain(name);
    const get = await app.inject({ url: '/api/v1/nope', headers: { ...auth, origin } });
    for (const name of [
      'x-connectr-error',
      'x-request-id',
      'retry-after',
      'link',
      'location',
      'www-authenticate',
    ])
      expect(allowed(get.headers['access-control-expose-headers'])).toContain(name);
  });

  it("the raw proxy's preflight allows the headers it forwards, and none it never forwards", async () => {
    const { app } = await server({ corsOrigins: [origin] });
    const proxy = await preflight(
      app,
      '/api/v1/connections/conn_1/proxy/2/files/download',
      'POST',
      'dropbox-api-arg, range, if-none-match, x-custom, x-forwarded-for, x-real-ip, forwarded, bad header',
    );
    expect(proxy.statusCode).toBe(204);
    const names = allowed(proxy.headers['access-control-allow-headers']);
    for (const name of ['dropbox-api-arg', 'range', 'if-none-match', 'x-custom'])
      expect(names).toContain(name);
    for (const name of ['x-forwarded-for', 'x-real-ip', 'forwarded', 'bad header'])
      expect(names).not.toContain(name);
    // Elsewhere only the API's own headers.
    const other = await preflight(app, '/api/v1/connectors', 'GET', 'dropbox-api-arg');
    expect(allowed(other.headers['access-control-allow-headers'])).not.toContain('dropbox-api-arg');
  });
});

describe('documentation', () => {
  it('/openapi.json is an OpenAPI 3 document with the bearer scheme and every connector route', async () => {
    const { app } = await server();
    const res = await app.inject({ url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = JSON.parse(res.body) as {
      openapi: string;
      security: unknown;
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<
        string,
        Record<
          string,
          {
            security?: unknown;
            responses: Record<string, unknown>;
            parameters?: { name: string; in: string }[];
          }
        >
      >;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.apiKey).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    expect(doc.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/health',
        '/ready',
        '/metrics',
        '/api/v1/connectors',
        '/api/v1/connectors/{name}',
        '/api/v1/connectors/{name}/endpoints',
      ]),
    );
    expect(doc.paths['/health']?.get?.security).toEqual([]);
    expect(doc.paths['/api/v1/connectors/{name}']?.get?.parameters).toEqual([
      expect.objectContaining({ name: 'name', in: 'path' }),
    ]);
    expect(Object.keys(doc.paths['/api/v1/connectors/{name}']?.get?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '401', '404']),
    );
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/docs'))).toBe(false);
  });

  it('/docs serves Swagger UI from local files only', async () => {
    const { app } = await server();
    const res = await app.inject({ url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    const urls = [...res.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(urls.length).toBeGreaterThan(3);
    for (const url of urls) {
      expect(url, url).not.toMatch(/^(?:[a-z]+:)?\/\//i);
      const asset = await app.inject({ url: new URL(url, 'http://x/docs/').pathname });
      expect(asset.statusCode, url).toBe(200);
    }
    const init = await app.inject({ url: '/docs/static/swagger-initializer.js' });
    expect(init.body).toContain('validatorUrl: null');
    expect(res.headers['content-security-policy']).not.toMatch(/https:|validator\.swagger\.io/);
  });
});

describe('metrics', () => {
  const SCRAPER = 'cnr_metrics0_scraper-key';
  const scraper = { authorization: `Bearer ${SCRAPER}` };

  it('needs a metrics key: a project key gets 403 naming the scope, as it would read every project', async () => {
    const { app, auth, keys } = await server();
    keys.add(SCRAPER, { scope: 'metrics' });
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
    const refused = await app.inject({ url: '/metrics', headers: auth });
    expect(refused.statusCode).toBe(403);
    const { error } = refused.json<Envelope>();
    expect(error.code).toBe('forbidden');
    expect(error.message).toContain('metrics scope');
    expect(error.hint).toContain('connectr serve keys create --name <name> --scope metrics');
    expect(refused.headers['www-authenticate']).toBe(
      'Bearer realm="connectr", error="insufficient_scope", scope="metrics"',
    );
    expect(refused.body).not.toContain('connectr_http_requests_total');
    // HEAD is GET without a body: refused the same way.
    expect((await app.inject({ method: 'HEAD', url: '/metrics', headers: auth })).statusCode).toBe(403);
    expect((await app.inject({ url: '/metrics', headers: scraper })).statusCode).toBe(200);
  });

  it('a metrics key reaches nothing of a project: every other authenticated route is a 403', async () => {
    const { app, keys } = await server();
    keys.add(SCRAPER, { scope: 'metrics' });
    for (const [method, url] of [
      ['GET', '/api/v1/connectors'],
      ['GET', '/api/v1/connectors/gmail'],
      ['GET', '/api/v1/connections'],
      ['POST', '/api/v1/connections'],
      ['POST', '/mcp'],
    ] as const) {
      const res = await app.inject({
        method,
        url,
        headers: { ...scraper, 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      // MCP answers in JSON-RPC's shape, with the same message.
      expect(res.json<Envelope>().error).toMatchObject({
        code: url === '/mcp' ? -32000 : 'forbidden',
        message: expect.stringContaining('GET /metrics') as unknown,
      });
      expect(res.headers['www-authenticate']).toContain('scope="project"');
    }
    // Public routes stay public.
    expect((await app.inject({ url: '/health', headers: scraper })).statusCode).toBe(200);
  });

  it('counts requests by route template, method and status in Prometheus text', async () => {
    const { app, auth, keys } = await server();
    keys.add(SCRAPER, { scope: 'metrics' });
    await app.inject({ url: '/api/v1/connectors/gmail', headers: auth });
    await app.inject({ url: '/api/v1/connectors/dropbox', headers: auth });
    await app.inject({ url: '/api/v1/connectors/nope', headers: auth });
    await app.inject({ url: '/no/such/route/12345' });
    const res = await app.inject({ url: '/metrics', headers: scraper });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = res.body;
    expect(text).toContain(
      'connectr_http_requests_total{method="GET",route="/api/v1/connectors/:name",status="200"} 2',
    );
    expect(text).toContain(
      'connectr_http_requests_total{method="GET",route="/api/v1/connectors/:name",status="404"} 1',
    );
    expect(text).toContain('connectr_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toMatch(
      /connectr_http_request_duration_seconds_bucket\{method="GET",route="\/api\/v1\/connectors\/:name",status="200",le="\+Inf"\} 2/,
    );
    expect(text).not.toContain('12345');
    expect(text).toContain('# TYPE connectr_upstream_responses_total counter');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('records upstream statuses and refreshes given by the rest of the server, escaping label values', async () => {
    const { Metrics } = await import('../../src/server/metrics.js');
    const metrics = new Metrics();
    metrics.upstreamResponse('gmail', 429);
    metrics.upstreamResponse('gmail', 429);
    metrics.tokenRefresh('dropbox');
    metrics.tokenRefresh('dropbox', 'invalid_grant');
    metrics.tokenRefresh('we"ird\\\n', 'x');
    const text = metrics.render();
    expect(text).toContain('connectr_upstream_responses_total{connector="gmail",status="429"} 2');
    expect(text).toContain('connectr_token_refreshes_total{connector="dropbox"} 2');
    expect(text).toContain(
      'connectr_token_refresh_failures_total{connector="dropbox",reason="invalid_grant"} 1',
    );
    expect(text).toContain('connector="we\\"ird\\\\\\n"');
  });
});

describe('logs', () => {
  it('never hold an Authorization value, an API key or a secret query value', async () => {
    const { app, auth, logs, keys } = await server();
    keys.add('revoked-secret-key-987');
    keys.revoke('revoked-secret-key-987');
    await app.inject({ url: '/api/v1/connectors', headers: auth });
    await app.inject({
      url: '/api/v1/connectors',
      headers: { authorization: 'Bearer revoked-secret-key-987' },
    });
    await app.inject({ url: '/api/v1/connectors', headers: { authorization: 'Basic c2VjcmV0LWJhc2ljLXB3' } });
    await app.inject({ url: '/api/v1/connectors?code=oauth-code-555&state=st-777&page=2', headers: auth });
    await app.inject({ url: '/nope?access_token=tok-888', headers: { cookie: 'session=cookie-999' } });
    app.log.info(
      { headers: { authorization: `Bearer ${KEY}` }, token: 'tok-111', nested: { client_secret: 'cs-222' } },
      'oops',
    );
    // One line per request, once it is answered: what was asked, the answer's status, the time.
    const completed = logs.lines().filter((line) => line.msg === 'request completed');
    expect(completed).toHaveLength(5);
    expect(completed[0]).toMatchObject({
      req: { method: 'GET', url: '/api/v1/connectors', route: '/api/v1/connectors' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number) as number,
    });
    // The fields, in the order pino's own path writes them (the line is made without it).
    expect(Object.keys(completed[0] ?? {})).toEqual([
      'level',
      'time',
      'pid',
      'hostname',
      'reqId',
      'req',
      'res',
      'responseTime',
      'msg',
    ]);
    expect(Object.keys((completed[0] as { req: object }).req)).toEqual([
      'method',
      'url',
      'route',
      'remoteAddress',
    ]);
    // A request no route matched has no route.
    expect((completed[4] as { req: object }).req).toEqual({
      method: 'GET',
      url: '/nope?access_token=[REDACTED]',
      remoteAddress: '127.0.0.1',
    });
    for (const secret of [
      KEY,
      'revoked-secret-key-987',
      'c2VjcmV0LWJhc2ljLXB3',
      'oauth-code-555',
      'st-777',
      'tok-888',
      'cookie-999',
      'tok-111',
      'cs-222',
    ])
      expect(logs.text, secret).not.toContain(secret);
    expect(logs.text).toContain('page=2');
    expect(logs.text).not.toMatch(/"body"|"payload"/);
  });

  it('hold no line per request above the info level', async () => {
    const logs = new LogCapture();
    const { app, auth } = await server({ log: { level: 'warn', stream: logs } });
    await app.inject({ url: '/api/v1/connectors', headers: auth });
    await app.inject({ url: '/nope' });
    expect(logs.lines().filter((line) => line.msg === 'request completed')).toEqual([]);
  });

  it('trust no X-Forwarded-For unless told which proxies to trust', async () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.9' };
    const plain = await server();
    await plain.app.inject({ url: '/health', headers: forwarded });
    expect(plain.logs.text).not.toContain('203.0.113.9');
    const behindProxy = await server({ trustProxy: '127.0.0.1' });
    await behindProxy.app.inject({ url: '/health', headers: forwarded });
    expect(behindProxy.logs.text).toContain('"remoteAddress":"203.0.113.9"');
  });

  it('redactUrl hides secret-looking query values, whatever their case or escaping', () => {
    expect(redactUrl('/cb?Code=1&STATE=2&%63ode=3&x=4')).toBe(
      '/cb?Code=[REDACTED]&STATE=[REDACTED]&%63ode=[REDACTED]&x=4',
    );
    expect(redactUrl('/plain/path')).toBe('/plain/path');
  });
});

describe('shutdown', () => {
  it('closeGracefully lets a request in flight finish, then stops accepting connections', async () => {
    let release = (): void => undefined;
    let entered = (): void => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const slowRegistry = async (): Promise<Registry> => {
      entered();
      await new Promise<void>((resolve) => (release = resolve));
      return builtinRegistry();
    };
    const { app } = await server({ registry: slowRegistry });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const response = new Promise<{ status: number; body: string; connection: string | undefined }>(
      (resolve, reject) => {
        const req = httpRequest(
          {
            port,
            host: '127.0.0.1',
            path: '/api/v1/connectors',
            headers: { authorization: `Bearer ${KEY}` },
          },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    await inside;
    let closed = false;
    let warned = 0;
    const closing = closeGracefully(app, 10_000, () => warned++).then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(closed).toBe(false);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    release();
    const released = Date.now();
    const res = await response;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toHaveProperty('connectors');
    // The answer says "Connection: close", so a kept-alive client connection does not hold
    // the shutdown open until its idle timeout.
    expect(res.connection).toBe('close');
    await closing;
    expect(closed).toBe(true);
    expect(warned).toBe(0);
    expect(Date.now() - released).toBeLessThan(2000);
  });

  it('closeGracefully closes the connections of requests still running at its deadline', async () => {
    let entered = (): void => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const stuckRegistry = (): Promise<Registry> => {
      entered();
      return new Promise<Registry>(() => undefined);
    };
    const { app } = await server({ registry: stuckRegistry });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const outcome = new Promise<string>((resolve) => {
      const req = httpRequest(
        { port, host: '127.0.0.1', path: '/api/v1/connectors', headers: { authorization: `Bearer ${KEY}` } },
        (res) => resolve(`answered ${res.statusCode ?? 0}`),
      );
      req.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? ''}`));
      req.end();
    });
    await inside;
    const started = Date.now();
    let warned = 0;
    await closeGracefully(app, 300, () => warned++);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(warned).toBe(1);
    expect(await outcome).toBe('error ECONNRESET');
  });

  it('buildApp refuses a body limit that is not a positive number of bytes', async () => {
    await expect(testServer({ bodyLimit: 0 })).rejects.toThrow(/body limit/);
  });

  it('an empty registry still answers', async () => {
    const { app, auth } = await server({ registry: () => Promise.resolve(new Registry([], [])) });
    const res = await app.inject({ url: '/api/v1/connectors', headers: auth });
    expect(res.json()).toEqual({ connectors: [] });
  });
});
