import { describe, expect, it } from 'vitest';
import type { Host } from '../../../src/core/connector/model.js';
import { FieldError } from '../../../src/core/field-error.js';
import {
  browserMaySend,
  forwardedRequestHeaders,
  returnedResponseHeaders,
} from '../../../src/core/proxy/headers.js';
import { checkProxyPath, checkProxyQuery, proxyTarget, wirePath } from '../../../src/core/proxy/rules.js';
import { splitProxyUrl } from '../../../src/server/routes/proxy/raw.js';

const HOST: Host = { key: 'api', url: 'https://api.example.com/v1.0', env: 'CONNECTR_ACME_API_BASE_URL' };

function refusal(fn: () => unknown): FieldError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FieldError) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('raw proxy path rules', () => {
  it('appends the path to the base path; the query follows as written', () => {
    const target = proxyTarget(HOST, {}, 'me/drive/items');
    expect(target.href).toBe('https://api.example.com/v1.0/me/drive/items');
    expect(wirePath(target, 'top=5&x=%20;y="a"', undefined)).toBe('/v1.0/me/drive/items?top=5&x=%20;y="a"');
    expect(wirePath(target, '', undefined)).toBe('/v1.0/me/drive/items');
    expect(proxyTarget(HOST, {}, '').href).toBe('https://api.example.com/v1.0/');
    expect(proxyTarget(HOST, {}, 'files/').pathname).toBe('/v1.0/files/');
    // Encoded characters stay encoded, an encoded slash too (the API decides what it means).
    expect(proxyTarget(HOST, {}, 'items/a%2Fb%20c').pathname).toBe('/v1.0/items/a%2Fb%20c');
  });

  it("uses the host's environment override", () => {
    const url = proxyTarget(HOST, { CONNECTR_ACME_API_BASE_URL: 'http://127.0.0.1:9/base/' }, 'x');
    expect(url.href).toBe('http://127.0.0.1:9/base/x');
  });

  it.each([
    '..',
    '../admin',
    'a/../../admin',
    'a/./b',
    '%2e%2e/admin',
    '%2E%2e/admin',
    '.%2e/admin',
    '%2e./admin',
    '%252e%252e/admin',
    '%25252e%25252e/admin',
    'a/%2e%2e%2f%2e%2e/admin',
    'a%2f..%2f..%2fadmin',
    '..%5cadmin',
    'a\\..\\admin',
    'a%5cb',
    '/evil.example.com/x',
    '//evil.example.com/x',
    'http://evil.example.com/x',
    'a//b',
    'a%00b',
    'a%0d%0aX-Evil:%201',
    'a#frag',
    // Plain ASCII, as the one-pass check of the usual path reads it.
    '.',
    'a/..',
    'a/.',
    '..;/admin',
    'a/.;x/b',
    'a/..;jsessionid=1',
    '/',
    'a/b//',
  ])('refuses %s with a 400 naming params.path', (path) => {
    const error = refusal(() => proxyTarget(HOST, {}, path));
    expect(error.field).toBe('params.path');
    expect(error.code).toBe('invalid_input');
  });

  it.each([
    ['..;', '".." segment (as written, its ";" parameter dropped)'],
    ['a/.;jsessionid=x/b', '"." segment (as written, its ";" parameter dropped)'],
    ['%2e%2e%3bx', '".." segment (percent-decoded once, its ";" parameter dropped)'],
    ['%EF%BC%8E%EF%BC%8E', '".." segment (percent-decoded once, then Unicode-normalised (NFKC))'],
    ['%E2%80%A5', '".." segment (percent-decoded once, then Unicode-normalised (NFKC))'],
    ['%E2%80%A4', '"." segment (percent-decoded once, then Unicode-normalised (NFKC))'],
    ['%EF%B9%92%EF%B9%92', '".." segment (percent-decoded once, then Unicode-normalised (NFKC))'],
    [
      '%25EF%25BC%258E%25EF%25BC%258E',
      '".." segment (percent-decoded twice, then Unicode-normalised (NFKC))',
    ],
    ['%25C0%25AE%25C0%25AE', '".." segment (percent-decoded twice)'],
    ['%25E0%2580%25AE%25E0%2580%25AE', '".." segment (percent-decoded twice)'],
    ['%EF%BC%85%EF%BC%92%EF%BD%85%EF%BC%85%EF%BC%92%EF%BD%85', '".." segment (percent-decoded twice)'],
    ['a%EF%BC%8F..%EF%BC%8Fb', '".." segment (percent-decoded once, then Unicode-normalised (NFKC))'],
    ['%EF%BC%BCx', 'contains a backslash (percent-decoded once, then Unicode-normalised (NFKC))'],
  ])('refuses %s, naming the segment as written: %s', (path, why) => {
    const error = refusal(() => proxyTarget(HOST, {}, `files/${path}/x`));
    expect(error.field).toBe('params.path');
    const segment = path.includes('/') ? (path.split('/')[1] ?? '') : path;
    expect(error.message).toContain(`segment ${JSON.stringify(segment)}`);
    expect(error.message).toContain(why);
  });

  it('lets a name that merely contains dots through', () => {
    expect(() => {
      checkProxyPath('files/report..v2.pdf');
    }).not.toThrow();
    expect(() => {
      checkProxyPath('.well-known/x');
    }).not.toThrow();
    expect(() => {
      checkProxyPath('a/...');
    }).not.toThrow();
    // A ";" parameter on a name, a Unicode dot inside one, an encoded fullwidth slash.
    for (const path of [
      'items;v=2/x',
      'a/..b;c',
      'v%EF%BC%8E2/x',
      'a/b%EF%BC%8Fc',
      'caf%C3%A9/x',
      '%C3%A9..txt',
    ])
      expect(() => {
        checkProxyPath(path);
      }, path).not.toThrow();
  });

  it('checks the built URL too: the origin and the base path hold after normalisation', () => {
    // "@" in the path cannot become user info once appended after the origin.
    const url = proxyTarget(HOST, {}, '@evil.example.com/x');
    expect(url.origin).toBe('https://api.example.com');
    expect(url.pathname.startsWith('/v1.0/')).toBe(true);
  });
});

describe('raw proxy query rules', () => {
  it('appends the key to the query, encoded, after the caller’s own bytes', () => {
    const target = new URL('https://api.example.com/v1/list');
    expect(wirePath(target, 'a=1;b=2&c=x=y', ['key', 'k&y=1 2'])).toBe(
      '/v1/list?a=1;b=2&c=x=y&key=k%26y%3D1%202',
    );
    expect(wirePath(target, '', ['api key', 'v'])).toBe('/v1/list?api%20key=v');
  });

  it.each([
    'key=mine',
    'a=1&KEY=mine',
    'a=1;key=mine',
    'key',
    'key+=x',
    '%6Bey=x',
    'k%2565y=x',
    'key%5B%5D=x',
    'key[a]=x',
    '%EF%BD%8B%EF%BD%85%EF%BD%99=x',
  ])('refuses %s when the API key goes in the query parameter "key"', (query) => {
    const error = refusal(() => {
      checkProxyQuery(query, 'key');
    });
    expect(error.field).toBe('query.key');
    expect(error.hint).toContain('leave key out');
  });

  it("refuses what PHP reads as an api_key parameter (its '.', ' ' and '[' become '_')", () => {
    for (const query of ['api.key=x', 'api+key=x', 'api[key=x', 'API_KEY=x'])
      expect(refusal(() => checkProxyQuery(query, 'api_key')).field, query).toBe('query.api_key');
  });

  it('lets other parameters through, and any query when the key is not in it', () => {
    for (const query of ['keys=1', 'monkey=1', 'a=key', 'x=1&key2=3', 'page=2;sort=key'])
      expect(() => {
        checkProxyQuery(query, 'key');
      }, query).not.toThrow();
    expect(() => {
      checkProxyQuery('key=mine', undefined);
    }).not.toThrow();
  });

  it('the worst query and path of a largest request line (16 KiB) cost milliseconds', () => {
    const worst = [
      '['.repeat(16 * 1024),
      `${'['.repeat(16 * 1024)}]`,
      Array.from({ length: 4000 }, () => '%EF%BC%8E[').join('&'),
      '%25'.repeat(5000),
    ];
    for (const query of worst) {
      const started = performance.now();
      try {
        checkProxyQuery(query, 'api_key');
      } catch {
        // A refusal is fine; the time is what counts.
      }
      expect(performance.now() - started, query.slice(0, 20)).toBeLessThan(100);
    }
    for (const path of [
      'a'.repeat(16 * 1024),
      '%EF%BC%8E'.repeat(1800),
      'a/'.repeat(8000),
      '%2525'.repeat(3000),
    ]) {
      const started = performance.now();
      try {
        checkProxyPath(path);
      } catch {
        // As above.
      }
      expect(performance.now() - started, path.slice(0, 20)).toBeLessThan(100);
    }
  });

  it('refuses a "#" in the query', () => {
    expect(refusal(() => checkProxyQuery('a=1#x', undefined)).field).toBe('query');
  });
});

describe('raw proxy request target', () => {
  it('takes the path after /proxy/ and the query as written', () => {
    expect(splitProxyUrl('/api/v1/connections/conn_1/proxy/a/b%2Fc?x=1;y=%3B')).toEqual({
      path: 'a/b%2Fc',
      query: 'x=1;y=%3B',
    });
    expect(splitProxyUrl('/api/v1/connections/conn_1/proxy')).toEqual({ path: '', query: '' });
  });

  it.each([
    'http://other.example.com/api/v1/connections/conn_1/proxy/x',
    'https://u@a/api/v1/connections/conn_1/proxy/x',
    'http://a?b/api/v1/connections/conn_1/proxy/x',
    '*',
  ])('refuses the absolute-form (or any non-origin-form) target %s', (url) => {
    const error = refusal(() => splitProxyUrl(url));
    expect(error.field).toBe('url');
    expect(error.hint).toContain('/api/v1/connections/{id}/proxy/{path}');
  });
});

describe('raw proxy header rules', () => {
  const provider = new Set(['dropbox-api-arg']);

  it('forwards the allow-list, x- headers and the connector’s own headers; never the key, cookies, host or hop-by-hop ones', () => {
    const out = forwardedRequestHeaders(
      {
        accept: 'application/json',
        'content-type': 'text/plain',
        'content-length': '5',
        range: 'bytes=0-9',
        'if-none-match': '"abc"',
        'x-custom': 'yes',
        'dropbox-api-arg': '{"path":"/a"}',
        authorization: 'Bearer ck_secret',
        cookie: 'session=1',
        host: 'connectr.local',
        connection: 'keep-alive, x-drop-me',
        'x-drop-me': 'hop',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        te: 'trailers',
        trailer: 'x',
        upgrade: 'websocket',
        'proxy-authorization': 'Basic x',
        'x-forwarded-for': '10.0.0.1',
        'x-forwarded-host': 'evil',
        forwarded: 'for=1.2.3.4',
        'x-real-ip': '1.2.3.4',
        'x-connectr-host': 'content',
        'x-request-id': 'r1',
        'user-agent': 'curl/8',
        origin: 'https://app.example.com',
        'x-api-key': 'caller-supplied',
      },
      provider,
      'x-api-key',
    );
    expect(out).toEqual({
      accept: 'application/json',
      'content-type': 'text/plain',
      'content-length': '5',
      range: 'bytes=0-9',
      'if-none-match': '"abc"',
      'x-custom': 'yes',
      'dropbox-api-arg': '{"path":"/a"}',
    });
  });

  it.each(['a\r\nInjected: 1', 'a\nb', 'a\rb', 'a\u0000b'])(
    'refuses CR, LF or NUL in a value (%j)',
    (value) => {
      const error = refusal(() => forwardedRequestHeaders({ 'x-custom': value }, provider, undefined));
      expect(error.field).toBe('headers.x-custom');
    },
  );

  it.each([
    'x-original-url',
    'x-rewrite-url',
    'x-http-method-override',
    'x-http-method',
    'x-method-override',
  ])(
    'refuses %s (a URL or method override to servers behind the host), and a browser may not send it',
    (name) => {
      const error = refusal(() => forwardedRequestHeaders({ [name]: '/admin' }, new Set([name]), undefined));
      expect(error.field).toBe(`headers.${name}`);
      expect(error.message).toContain(name);
      expect(error.hint).toMatch(/leave the header out/);
      expect(browserMaySend(name)).toBe(false);
    },
  );

  it('refuses CR/LF even in a header that would not be forwarded', () => {
    expect(refusal(() => forwardedRequestHeaders({ cookie: 'a\r\nb' }, provider, undefined)).field).toBe(
      'headers.cookie',
    );
  });

  it('passes response headers back without hop-by-hop ones, cookies or CORS', () => {
    const out = returnedResponseHeaders({
      'content-type': 'application/json',
      'content-length': '10',
      etag: '"e"',
      'x-ratelimit-remaining': '5',
      'set-cookie': ['a=1', 'b=2'],
      connection: 'close, x-hop',
      'x-hop': 'drop',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'access-control-allow-origin': '*',
      'alt-svc': 'h3=":443"',
      'x-request-id': 'upstream-id',
      'proxy-authenticate': 'Basic',
      'www-authenticate': 'Bearer error="invalid_token"',
    });
    expect(out).toEqual({
      'content-type': 'application/json',
      'content-length': '10',
      etag: '"e"',
      'x-ratelimit-remaining': '5',
      'www-authenticate': 'Bearer error="invalid_token"',
    });
  });
});
