import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { importOpenApi } from '../../../src/core/openapi/import.js';
import { startEmulator } from '../../fixtures/emulators/server.js';

/** Every mapping decision of the OpenAPI importer, on small hand-written documents. */

const dir = mkdtempSync(join(tmpdir(), 'connectr-openapi-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let counter = 0;

function file(content: string, ext = 'json'): string {
  const path = join(dir, `doc-${++counter}.${ext}`);
  writeFileSync(path, content);
  return path;
}

type Doc = Record<string, unknown>;

function doc(extra: Doc = {}): Doc {
  return {
    openapi: '3.1.0',
    info: { title: 'Test API', version: '2.0' },
    servers: [{ url: 'https://api.example.com/v1' }],
    paths: { '/ping': { get: { operationId: 'ping', responses: { 204: { description: 'ok' } } } } },
    ...extra,
  };
}

interface Imported {
  def: Doc & { endpoints: Record<string, Doc & { params?: Record<string, Doc> }> };
  yaml: string;
  unmapped: readonly string[];
  review: readonly string[];
}

async function run(d: Doc, name?: string): Promise<Imported> {
  const result = await importOpenApi(file(JSON.stringify(d)), { name });
  return {
    def: parse(result.yaml) as Imported['def'],
    yaml: result.yaml,
    unmapped: result.unmapped,
    review: result.review,
  };
}

function op(operation: Doc, path = '/things', method = 'get'): Doc {
  return { paths: { [path]: { [method]: { responses: { 200: { description: 'ok' } }, ...operation } } } };
}

describe('connector fields', () => {
  it('names the connector from info.title, sanitised, unless --name is given', async () => {
    expect((await run(doc({ info: { title: '  My API (v2)!', version: '1' } }))).def.name).toBe('my-api-v2');
    expect((await run(doc({ info: { title: '42 Things', version: '1' } }))).def.name).toBe('things');
    expect((await run(doc(), 'mine')).def.name).toBe('mine');
    await expect(importOpenApi(file(JSON.stringify(doc())), { name: 'Bad Name' })).rejects.toThrow(
      /not a connector name/,
    );
  });

  it("writes version 1, the definition's own, and the API's version as a comment on one line", async () => {
    const { def, yaml } = await run(doc({ info: { title: 'T', version: '2.0\nversion: 9' } }));
    expect(def.version).toBe(1);
    expect(yaml).toMatch(/^# the API's own version: 2\.0 version: 9$/m);
  });
});

describe('servers', () => {
  it('substitutes variable defaults and turns several servers into hosts', async () => {
    const { def, review } = await run(
      doc({
        servers: [
          {
            url: 'https://{region}.example.com/{version}',
            variables: { region: { default: 'eu', enum: ['eu', 'us'] }, version: { default: 'v2' } },
          },
          { url: 'https://sandbox.example.com/v2/', description: 'Sandbox' },
        ],
      }),
    );
    expect(def.hosts).toEqual({
      api: 'https://eu.example.com/v2',
      api_2: { url: 'https://sandbox.example.com/v2', description: 'Sandbox' },
    });
    expect(review.join('\n')).toMatch(/2 servers/);
  });

  it('gives an operation with its own server a host of its own', async () => {
    const { def } = await run(
      doc(op({ operationId: 'upload', servers: [{ url: 'https://upload.example.com' }] }, '/files', 'post')),
    );
    expect(Object.values(def.hosts as Doc)).toContain('https://upload.example.com');
    expect(def.endpoints.upload?.host).toBe('files');
  });

  it('refuses a relative server URL read from a file, naming the place', async () => {
    await expect(run(doc({ servers: [{ url: '/api' }] }))).rejects.toThrow(
      /#\/servers\/0\/url: server URL "\/api" is relative/,
    );
    await expect(run(doc({ servers: [] }))).rejects.toThrow(/no servers/);
  });

  it('resolves a relative server URL against the URL the document came from', async () => {
    const server = await startEmulator((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(doc({ servers: [{ url: '/api/v3' }] })));
    });
    try {
      const result = await importOpenApi(`${server.url}/specs/openapi.json`);
      expect((parse(result.yaml) as Doc).hosts).toEqual({ api: `${server.url}/api/v3` });
    } finally {
      await server.close();
    }
  });

  it('uses https for a plain-http server when credentials go there, and says so', async () => {
    const { def, review } = await run(
      doc({
        servers: [{ url: 'http://api.example.com' }],
        components: { securitySchemes: { k: { type: 'apiKey', in: 'header', name: 'X-Key' } } },
        security: [{ k: [] }],
      }),
    );
    expect(def.hosts).toEqual({ api: 'https://api.example.com' });
    expect(review.join('\n')).toMatch(/plain http/);
  });
});

describe('security schemes', () => {
  const withScheme = (schemes: Doc, security: unknown[] = [{ [Object.keys(schemes)[0] ?? '']: [] }]): Doc =>
    doc({ components: { securitySchemes: schemes }, security });

  it('maps oauth2 authorization code (PKCE on) and client credentials with their URLs and scopes', async () => {
    const { def, yaml } = await run(
      withScheme(
        {
          oauth: {
            type: 'oauth2',
            flows: {
              authorizationCode: {
                authorizationUrl: 'https://auth.example.com/authorize',
                tokenUrl: '/oauth/token',
                scopes: { read: 'Read', write: 'Write' },
              },
              clientCredentials: {
                tokenUrl: 'https://api.example.com/oauth/token',
                scopes: { admin: 'Admin' },
              },
            },
          },
        },
        [{ oauth: ['read'] }],
      ),
    );
    expect(def.auth).toEqual({
      type: 'oauth2',
      authorization_url: 'https://auth.example.com/authorize',
      token_url: 'https://api.example.com/oauth/token',
      grants: ['authorization_code', 'client_credentials'],
      scopes: ['read'],
    });
    expect(yaml).toMatch(/# review: PKCE \(S256\) is on/);
    expect(yaml).toMatch(/# scopes the document defines: read, write, admin/);
  });

  it('lists implicit and password flows as not mapped', async () => {
    await expect(
      run(
        withScheme({
          o: {
            type: 'oauth2',
            flows: { implicit: { authorizationUrl: 'https://a.example.com/auth', scopes: {} } },
          },
        }),
      ),
    ).resolves.toMatchObject({
      def: { auth: { type: 'none' } },
      unmapped: [expect.stringMatching(/implicit flow/)],
    });
  });

  it('maps apiKey in header and query; lists a cookie key as not mapped', async () => {
    expect(
      (await run(withScheme({ k: { type: 'apiKey', in: 'header', name: 'X-Api-Key' } }))).def.auth,
    ).toEqual({ type: 'api_key', in: 'header', name: 'X-Api-Key' });
    expect((await run(withScheme({ k: { type: 'apiKey', in: 'query', name: 'key' } }))).def.auth).toEqual({
      type: 'api_key',
      in: 'query',
      name: 'key',
    });
    const cookie = await run(withScheme({ k: { type: 'apiKey', in: 'cookie', name: 'session' } }));
    expect(cookie.def.auth).toEqual({ type: 'none' });
    expect(cookie.unmapped.join('\n')).toMatch(/#\/components\/securitySchemes\/k: an API key in a cookie/);
  });

  it('maps http bearer and basic; lists digest and openIdConnect as not mapped', async () => {
    expect((await run(withScheme({ b: { type: 'http', scheme: 'bearer' } }))).def.auth).toEqual({
      type: 'api_key',
      in: 'header',
      name: 'Authorization',
      prefix: 'Bearer ',
    });
    expect((await run(withScheme({ b: { type: 'http', scheme: 'basic' } }))).def.auth).toEqual({
      type: 'basic',
    });
    expect((await run(withScheme({ d: { type: 'http', scheme: 'digest' } }))).unmapped.join()).toMatch(
      /HTTP digest/,
    );
    const oidc = await run(
      withScheme({
        o: {
          type: 'openIdConnect',
          openIdConnectUrl: 'https://id.example.com/.well-known/openid-configuration',
        },
      }),
    );
    expect(oidc.unmapped.join()).toMatch(/OpenID Connect discovery/);
  });

  it('chooses the scheme most operations use and lists the others', async () => {
    const d = doc({
      components: {
        securitySchemes: {
          key: { type: 'apiKey', in: 'header', name: 'K' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      paths: {
        '/a': {
          get: { operationId: 'a', security: [{ bearer: [] }], responses: { 200: { description: 'ok' } } },
        },
        '/b': {
          get: { operationId: 'b', security: [{ bearer: [] }], responses: { 200: { description: 'ok' } } },
        },
        '/c': {
          get: { operationId: 'c', security: [{ key: [] }], responses: { 200: { description: 'ok' } } },
        },
      },
    });
    const { def, unmapped } = await run(d);
    expect(def.auth).toMatchObject({ prefix: 'Bearer ' });
    expect(unmapped.join()).toMatch(/securitySchemes\/key: a connector has one auth/);
  });
});

describe('parameters', () => {
  it('maps path, query and header params with types, arrays, enums, defaults, bounds and required', async () => {
    const { def, unmapped } = await run(
      doc(
        op(
          {
            operationId: 'listThings',
            parameters: [
              { name: 'ownerId', in: 'path', required: true, schema: { type: 'integer' } },
              {
                name: 'state',
                in: 'query',
                schema: { type: 'string', enum: ['open', 'closed'], default: 'open' },
                description: 'Which ones.',
              },
              { name: 'labels', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
              {
                name: 'per_page',
                in: 'query',
                schema: { type: ['integer', 'null'], minimum: 1, maximum: 100 },
              },
              { name: 'X-Request-ID', in: 'header', required: true, schema: { type: 'string' } },
              { name: 'session', in: 'cookie', schema: { type: 'string' } },
            ],
          },
          '/owners/{ownerId}/things',
        ),
      ),
    );
    const ep = def.endpoints.list_things;
    expect(ep?.path).toBe('/owners/{owner_id}/things');
    expect(ep?.params).toEqual({
      owner_id: { in: 'path', name: 'ownerId', type: 'integer', required: true },
      state: { in: 'query', enum: ['open', 'closed'], default: 'open', description: 'Which ones.' },
      labels: { in: 'query', type: 'array', items: 'string' },
      per_page: { in: 'query', type: 'integer', minimum: 1, maximum: 100 },
      x_request_id: { in: 'header', name: 'X-Request-ID', required: true },
    });
    expect(unmapped.join()).toMatch(/query:session|cookie:session: a cookie parameter/);
  });

  it("renames a param whose flag is one of connectr's own, and drops a default that does not fit", async () => {
    const { def, review } = await run(
      doc(
        op({
          operationId: 'q',
          parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', default: 'ten' } }],
        }),
      ),
    );
    expect(def.endpoints.q?.params?.limit).toEqual({ in: 'query', type: 'integer', flag: 'limit-value' });
    expect(review.join()).toMatch(/default "ten" does not fit/);
  });

  it('lists an object query param and a reserved name as not mapped', async () => {
    const { unmapped } = await run(
      doc(
        op({
          operationId: 'q',
          parameters: [
            { name: 'filter', in: 'query', style: 'deepObject', schema: { type: 'object' } },
            { name: '__proto__', in: 'query', schema: { type: 'string' } },
          ],
        }),
      ),
    );
    expect(unmapped.join('\n')).toMatch(/object query param/);
    expect(unmapped.join('\n')).toMatch(/"__proto__" is reserved/);
  });
});

describe('request bodies', () => {
  const body = (content: Doc, required = true): Doc =>
    doc(op({ operationId: 'send', requestBody: { required, content } }, '/things', 'post'));

  it('JSON object properties become body params (allOf merged, readOnly skipped, dotted names kept whole)', async () => {
    const schema = {
      allOf: [
        {
          type: 'object',
          required: ['title'],
          properties: { title: { type: 'string' }, id: { type: 'integer', readOnly: true } },
        },
        { properties: { tags: { type: 'array', items: { type: 'string' } }, 'meta.v': { type: 'object' } } },
      ],
    };
    const { def } = await run(body({ 'application/json': { schema } }));
    expect(def.endpoints.send?.params).toEqual({
      title: { in: 'body', required: true },
      tags: { in: 'body', type: 'array', items: 'string' },
      meta_v: { in: 'body', type: 'object', field: ['meta.v'] },
    });
  });

  it('a JSON array body is passed whole with --body', async () => {
    const { def, yaml } = await run(
      body({ 'application/json': { schema: { type: 'array', items: { type: 'object' } } } }),
    );
    expect(def.endpoints.send?.request).toEqual({ encoding: 'json' });
    expect(yaml).toMatch(/# review: the body is an array; pass it whole with --body/);
  });

  it('form-urlencoded properties become form params', async () => {
    const { def } = await run(
      body({
        'application/x-www-form-urlencoded': {
          schema: { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } } },
        },
      }),
    );
    expect(def.endpoints.send?.params).toEqual({
      name: { in: 'form' },
      age: { in: 'form', type: 'integer' },
    });
  });

  it('octet-stream is a file upload, text/plain a text body, multipart not mapped', async () => {
    const bin = await run(
      body({ 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } }),
    );
    expect(bin.def.endpoints.send).toMatchObject({
      params: { file: { in: 'raw', type: 'file', required: true } },
      request: { encoding: 'binary', content_type: 'application/octet-stream' },
    });
    const text = await run(body({ 'text/plain': { schema: { type: 'string' } } }));
    expect(text.def.endpoints.send).toMatchObject({
      params: { content: { in: 'raw', type: 'string' } },
      request: { encoding: 'text', content_type: 'text/plain' },
    });
    const multipart = await run(
      body({
        'multipart/form-data': {
          schema: { type: 'object', properties: { f: { type: 'string', format: 'binary' } } },
        },
      }),
    );
    expect(multipart.unmapped.join()).toMatch(/multipart~1form-data: a multipart body/);
  });

  it('a body param named like a query param gets its own key', async () => {
    const { def } = await run(
      doc(
        op(
          {
            operationId: 'send',
            parameters: [{ name: 'name', in: 'query', schema: { type: 'string' } }],
            requestBody: {
              content: {
                'application/json': { schema: { type: 'object', properties: { name: { type: 'string' } } } },
              },
            },
          },
          '/x',
          'post',
        ),
      ),
    );
    expect(def.endpoints.send?.params).toEqual({
      name: { in: 'query' },
      name_body: { in: 'body', name: 'name' },
    });
  });
});

describe('responses', () => {
  const responding = (content: Doc): Doc =>
    doc(op({ operationId: 'get', responses: { 200: { description: 'ok', content } } }));
  it('maps JSON, text and binary responses; several kinds are auto', async () => {
    expect((await run(responding({ 'application/json': {} }))).def.endpoints.get?.response).toEqual({
      encoding: 'json',
    });
    expect((await run(responding({ 'application/vnd.api+json': {} }))).def.endpoints.get?.response).toEqual({
      encoding: 'json',
    });
    expect((await run(responding({ 'text/csv': {} }))).def.endpoints.get?.response).toEqual({
      encoding: 'text',
    });
    expect((await run(responding({ 'image/png': {} }))).def.endpoints.get?.response).toEqual({
      encoding: 'binary',
    });
    expect(
      (await run(responding({ 'application/json': {}, 'image/png': {} }))).def.endpoints.get?.response,
    ).toEqual({ encoding: 'auto' });
  });
});

describe('names', () => {
  it('snake_cases operationIds, names operations without one from method and path, and renames duplicates and reserved names', async () => {
    const ok = { responses: { 200: { description: 'ok' } } };
    const { def, review } = await run(
      doc({
        paths: {
          '/a': {
            get: { operationId: 'listHTTPServers', ...ok },
            post: { operationId: 'list-http-servers', ...ok },
          },
          '/b/{id}': {
            get: {
              ...ok,
              parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
            },
          },
          '/c': {
            get: { operationId: 'constructor', ...ok },
            put: { operationId: '2fa', ...ok },
            options: { operationId: 'opts', ...ok },
          },
        },
      }),
    );
    expect(Object.keys(def.endpoints)).toEqual([
      'list_http_servers',
      'list_http_servers_2',
      'get_b_id',
      'constructor_op',
      'op_2fa',
    ]);
    expect(review.join()).toMatch(/would also be named "list_http_servers"/);
  });
});

describe('pagination', () => {
  const paged = (parameters: Doc[], schema: Doc, headers?: Doc): Doc =>
    doc(
      op({
        operationId: 'list',
        parameters,
        responses: {
          200: {
            description: 'ok',
            ...(headers ? { headers } : {}),
            content: { 'application/json': { schema } },
          },
        },
      }),
    );
  const q = (name: string, type = 'string'): Doc => ({ name, in: 'query', schema: { type } });
  const items = { type: 'array', items: { type: 'object' } };

  it('page token', async () => {
    const { def, yaml } = await run(
      paged([q('pageToken')], { type: 'object', properties: { items, nextPageToken: { type: 'string' } } }),
    );
    expect(def.endpoints.list?.pagination).toEqual({
      style: 'page_token',
      request_param: 'page_token',
      response_path: 'nextPageToken',
      items_path: 'items',
    });
    expect(yaml).toMatch(/# review: pagination by page token guessed/);
  });

  it('cursor (nested, as Slack answers)', async () => {
    const { def } = await run(
      paged([q('cursor')], {
        type: 'object',
        properties: {
          members: items,
          response_metadata: { type: 'object', properties: { next_cursor: { type: 'string' } } },
        },
      }),
    );
    expect(def.endpoints.list?.pagination).toEqual({
      style: 'page_token',
      request_param: 'cursor',
      response_path: 'response_metadata.next_cursor',
      items_path: 'members',
    });
  });

  it('offset and limit', async () => {
    const { def } = await run(
      paged([q('offset', 'integer'), q('limit', 'integer')], {
        type: 'object',
        properties: { results: items, total: { type: 'integer' } },
      }),
    );
    expect(def.endpoints.list?.pagination).toEqual({
      style: 'offset',
      offset_param: 'offset',
      limit_param: 'limit',
      items_path: 'results',
      total_path: 'total',
    });
  });

  it('Link header', async () => {
    const { def } = await run(
      paged([q('per_page', 'integer')], items, { Link: { schema: { type: 'string' } } }),
    );
    expect(def.endpoints.list?.pagination).toEqual({ style: 'link_header', rel: 'next' });
  });

  it('next link', async () => {
    const { def } = await run(
      paged([], { type: 'object', properties: { value: items, '@odata.nextLink': { type: 'string' } } }),
    );
    expect(def.endpoints.list?.pagination).toEqual({
      style: 'next_link',
      next_path: ['@odata.nextLink'],
      items_path: 'value',
    });
  });

  it('only a comment when the items cannot be found', async () => {
    const { def, yaml } = await run(
      paged([q('page_token')], {
        type: 'object',
        properties: { a: items, b: items, next_page_token: { type: 'string' } },
      }),
    );
    expect(def.endpoints.list?.pagination).toBeUndefined();
    expect(yaml).toMatch(/# review: pagination by page token .*complete items_path by hand/);
  });
});

describe('bad documents: a clear error naming the place', () => {
  it('malformed YAML and JSON', async () => {
    await expect(importOpenApi(file('openapi: 3.1.0\ninfo: [unclosed\n', 'yaml'))).rejects.toThrow(
      /doc-\d+\.yaml:\d+:\d+: not valid YAML/,
    );
    await expect(importOpenApi(file('{"openapi": "3.1.0",\n "info": [}'))).rejects.toThrow(
      /doc-\d+\.json:2:\d+: not valid JSON/,
    );
  });

  it('an unresolvable $ref', async () => {
    const d = doc(op({ operationId: 'x', parameters: [{ $ref: '#/components/parameters/Missing' }] }));
    await expect(run(d)).rejects.toThrow(
      /unresolvable \$ref "#\/components\/parameters\/Missing" at #\/paths\/~1things\/get\/parameters\/0\/\$ref/,
    );
  });

  it('a $ref cycle, without hanging', async () => {
    const d = doc({
      components: {
        schemas: { A: { $ref: '#/components/schemas/B' }, B: { $ref: '#/components/schemas/A' } },
      },
    });
    await expect(run(d)).rejects.toThrow(
      /\$ref cycle at #\/components\/schemas\/A\/\$ref: #\/components\/schemas\/B -> #\/components\/schemas\/A -> #\/components\/schemas\/B/,
    );
  });

  it('a recursive schema is fine', async () => {
    const node = {
      type: 'object',
      properties: { children: { type: 'array', items: { $ref: '#/components/schemas/Node' } } },
    };
    const d = doc({
      ...op({
        operationId: 'tree',
        responses: {
          200: {
            description: 'ok',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Node' } } },
          },
        },
      }),
      components: { schemas: { Node: node } },
    });
    expect(Object.keys((await run(d)).def.endpoints)).toEqual(['tree']);
  });

  it('an external $ref is refused, never read', async () => {
    const d = doc(op({ operationId: 'x', parameters: [{ $ref: '/etc/passwd#/x' }] }));
    await expect(run(d)).rejects.toThrow(
      /external \$ref "\/etc\/passwd#\/x" at #\/paths\/~1things\/get\/parameters\/0\/\$ref/,
    );
  });

  it('a document that breaks the specification, Swagger 2.0, and not a document at all', async () => {
    await expect(run({ ...doc(), paths: { '/x': { get: { responses: 'nope' } } } })).rejects.toThrow(
      /is not a valid OpenAPI document/,
    );
    await expect(run({ swagger: '2.0', info: {}, paths: {} })).rejects.toThrow(
      /is Swagger 2.0; connectr imports OpenAPI 3.0 and 3.1/,
    );
    await expect(importOpenApi(file('- a\n- b\n', 'yaml'))).rejects.toThrow(/not an OpenAPI document/);
    await expect(importOpenApi(join(dir, 'missing.yaml'))).rejects.toThrow(/no such file/);
  });
});
