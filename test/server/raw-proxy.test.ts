import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { Agent, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import { depsOf } from '../../src/server/contracts.js';
import type { ErrorEnvelope } from '../../src/server/errors.js';
import { Metrics } from '../../src/server/metrics.js';
import type { OAuthSecret } from '../../src/server/oauth/flow.js';
import { putCredential } from '../../src/server/store/credentials.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import type { App } from '../../src/server/types.js';
import { BACKENDS, CacheClock, variantTitle } from '../helpers/server-store.js';

/** Moves the caches on after a change made straight in the database (as another instance would). */
const clock = new CacheClock();
import { LogCapture } from './helpers.js';
import { withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * The raw proxy on the real store (PGlite, and real PostgreSQL where it exists), through a real
 * socket: a local server on 127.0.0.1 stands in for the provider and records every request it
 * gets, a local token endpoint counts refreshes. Every log line is kept, to check at the end
 * that no token, key or secret ever appeared in one.
 */

const ACME_KEY = 'acme-upstream-key-SECRET-1';
const QUERY_KEY = 'query-upstream-key-SECRET-2';
const STALE_TOKEN = 'stale-access-SECRET-token';
const REFRESH_TOKEN = 'refresh-SECRET-token';
const CLIENT_SECRET = 'oauthco-client-SECRET';
const MAX_BODY = 8 * 1024 * 1024;

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bytes: number;
  /** The request's socket closed before its answer was complete. */
  aborted: boolean;
  /** Bytes of generated body written (big, endless). */
  sent: number;
}

/** Stands in for the provider; its behaviour depends on the path. */
class Upstream {
  readonly seen: Seen[] = [];
  /** Bearer tokens it accepts (the OAuth connector's API). */
  readonly validTokens = new Set<string>();
  private readonly server: Server = createServer((req, res) => {
    this.handle(req, res);
  });
  origin = '';

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const entry: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bytes: 0,
      aborted: false,
      sent: 0,
    };
    this.seen.push(entry);
    res.once('close', () => {
      if (!res.writableFinished) entry.aborted = true;
    });
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.startsWith('/oauth/')) {
      const auth = req.headers.authorization ?? '';
      if (!this.validTokens.has(auth.replace(/^Bearer /, ''))) {
        req.resume();
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': 'Bearer error="invalid_token"',
        });
        res.end('{"error":"invalid_token"}');
        return;
      }
    }
    if (path.endsWith('/hang')) {
      req.resume();
      return;
    }
    if (path.endsWith('/big') || path.endsWith('/endless')) {
      const total = path.endsWith('/big')
        ? Number(new URL(req.url ?? '', 'http://x').searchParams.get('bytes'))
        : Infinity;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        ...(Number.isFinite(total) ? { 'content-length': String(total) } : {}),
      });
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          const n = Math.min(chunk.length, total - sent);
          sent += n;
          entry.sent = sent;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.once('close', () => res.removeAllListeners('drain'));
      pump();
      return;
    }
    if (path.endsWith('/broken')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000000' });
      res.write(Buffer.alloc(1000, 0x62), () => {
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    const status = /\/status\/(\d{3})$/.exec(path);
    req.on('data', (chunk: Buffer) => {
      entry.bytes += chunk.length;
    });
    req.on('end', () => {
      const code = status ? Number(status[1]) : 200;
      res.writeHead(code, {
        'content-type': 'application/json',
        'x-upstream': 'yes',
        etag: '"v1"',
        'set-cookie': 'upstream_session=1',
        'access-control-allow-origin': '*',
        connection: 'keep-alive',
        // An upstream that pretends its answer is the proxy's own.
        ...(path.includes('/spoof/') ? { 'x-connectr-error': '1', 'x-connectr-host': 'files' } : {}),
      });
      res.end(JSON.stringify({ method: req.method, url: req.url, bytes: entry.bytes }));
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A token endpoint: each refresh gets a new access token, which the upstream then accepts. */
class TokenServer {
  requests = 0;
  private readonly server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      this.requests++;
      const token = `fresh-SECRET-access-${this.requests}`;
      this.accept(token);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  url = '';
  constructor(private readonly accept: (token: string) => void) {}
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/token`;
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`raw proxy on ${variantTitle(variant)}`, () => {
    let daemon: TestDaemon;
    let store: OpenedServerStore;
    let app: App;
    let base = '';
    const metrics = new Metrics();
    const logs = new LogCapture();
    const upstream = new Upstream();
    const tokens = new TokenServer((t) => upstream.validTokens.add(t));
    const keys = { alpha: '', beta: '' };
    const ids = { acme: '', query: '', oauth: '', bare: '', beta: '' };
    let alphaProject = '';

    beforeAll(async () => {
      await upstream.start();
      await tokens.start();
      const head = (name: string, hosts: string): string =>
        `name: ${name}\ndisplay_name: ${name}\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\nhosts:\n${hosts}`;
      const ping =
        'endpoints:\n  upload:\n    summary: Upload.\n    method: POST\n    path: /upload\n    headers:\n      Acme-Api-Arg: "{}"\n';
      daemon = await withServer({
        backend: variant,
        connectors: {
          acme: `${head('acme', '  api: https://api.example.com/base\n  files: https://files.example.com\n')}auth:\n  type: api_key\n  in: header\n  name: X-Api-Key\n${ping}`,
          acmeq: `${head('acmeq', '  api: https://q.example.com/base\n')}auth:\n  type: api_key\n  in: query\n  name: key\n${ping}`,
          oauthco: `${head('oauthco', '  api: https://oauth.example.com/oauth\n')}auth:\n  type: oauth2\n  grants: [authorization_code]\n  authorization_url: https://auth.example.com/authorize\n  token_url: https://auth.example.com/token\n  scopes: [read]\n  client_auth: post\n  client_secret: required\n  client_id_env: OAUTHCO_CLIENT_ID\n  client_secret_env: OAUTHCO_CLIENT_SECRET\n${ping}`,
        },
        env: {
          CONNECTR_ACME_API_BASE_URL: `${upstream.origin}/base`,
          CONNECTR_ACME_FILES_BASE_URL: `${upstream.origin}/files`,
          CONNECTR_ACMEQ_API_BASE_URL: `${upstream.origin}/q`,
          CONNECTR_OAUTHCO_API_BASE_URL: `${upstream.origin}/oauth`,
          CONNECTR_OAUTHCO_TOKEN_URL: tokens.url,
          OAUTHCO_CLIENT_ID: 'oauthco-client',
          OAUTHCO_CLIENT_SECRET: CLIENT_SECRET,
          CONNECTR_PROXY_MAX_BODY: String(MAX_BODY),
        },
        cacheNow: clock.now,
        logs,
        app: { metrics },
        listen: true,
      });
      ({ store, app, base } = daemon);
      const alpha = await daemon.project('alpha');
      const beta = await daemon.project('beta');
      alphaProject = alpha;
      keys.alpha = await daemon.key(alpha, { name: 'a' });
      keys.beta = await daemon.key(beta, { name: 'b' });

      const create = async (key: string, connector: string): Promise<string> => {
        const res = await app.inject({
          method: 'POST',
          url: '/api/v1/connections',
          headers: { authorization: `Bearer ${key}` },
          payload: { connector_type: connector, name: connector },
        });
        expect(res.statusCode, res.body).toBe(201);
        return res.json<{ id: string }>().id;
      };
      const putKey = async (id: string, apiKey: string): Promise<void> => {
        const res = await app.inject({
          method: 'PUT',
          url: `/api/v1/connections/${id}/credentials`,
          headers: { authorization: `Bearer ${keys.alpha}` },
          payload: { api_key: apiKey },
        });
        expect(res.statusCode, res.body).toBeLessThan(300);
      };
      ids.acme = await create(keys.alpha, 'acme');
      await putKey(ids.acme, ACME_KEY);
      ids.query = await create(keys.alpha, 'acmeq');
      await putKey(ids.query, QUERY_KEY);
      ids.oauth = await create(keys.alpha, 'oauthco');
      ids.bare = await create(keys.alpha, 'acme');
      ids.beta = await create(keys.beta, 'acme');
    }, 60_000);

    afterAll(async () => {
      await daemon.close();
      await upstream.close();
      await tokens.close();
    });

    /** A request through the real socket; the answer's body read whole. */
    async function call(
      path: string,
      init: {
        method?: string;
        headers?: Record<string, string>;
        body?: string | Buffer;
        key?: string | null;
      } = {},
    ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
      const key = init.key === undefined ? keys.alpha : init.key;
      const res = await undiciRequest(`${base}${path}`, {
        method: (init.method ?? 'GET') as 'GET',
        headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...init.headers },
        ...(init.body === undefined ? {} : { body: init.body }),
      });
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    }
    const proxy = (id: string, rest: string): string => `/api/v1/connections/${id}/proxy/${rest}`;
    const errorOf = (text: string): ErrorEnvelope['error'] => (JSON.parse(text) as ErrorEnvelope).error;
    const last = (): Seen => {
      const seen = upstream.seen.at(-1);
      if (!seen) throw new Error('upstream saw nothing');
      return seen;
    };

    it('GET, POST, PUT, DELETE go to the base path with the key; only the allowed headers cross', async () => {
      for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
        const body = method === 'GET' ? undefined : `{"m":"${method}"}`;
        const res = await call(proxy(ids.acme, 'items/a%20b?top=5&x=1'), {
          method,
          headers: {
            accept: 'application/json',
            'content-type': 'application/json',
            'if-none-match': '"v0"',
            'x-custom': 'kept',
            'acme-api-arg': '{"path":"/a"}',
            cookie: 'connectr_session=caller',
            'x-forwarded-for': '10.1.1.1',
            'x-api-key': 'caller-chosen',
          },
          ...(body === undefined ? {} : { body }),
        });
        expect(res.status, res.text).toBe(200);
        const seen = last();
        expect(seen.method).toBe(method);
        expect(seen.url).toBe('/base/items/a%20b?top=5&x=1');
        expect(seen.headers['x-api-key']).toBe(ACME_KEY);
        expect(seen.headers.authorization).toBeUndefined();
        expect(seen.headers.cookie).toBeUndefined();
        expect(seen.headers['x-forwarded-for']).toBeUndefined();
        expect(seen.headers.host).toBe(new URL(upstream.origin).host);
        expect(seen.headers['x-custom']).toBe('kept');
        expect(seen.headers['acme-api-arg']).toBe('{"path":"/a"}');
        expect(seen.headers['if-none-match']).toBe('"v0"');
        expect(seen.headers['user-agent']).toMatch(/^connectr\//);
        expect(seen.bytes).toBe(body === undefined ? 0 : Buffer.byteLength(body));
        // The answer's own headers come back, without cookies, CORS or hop-by-hop ones.
        expect(res.headers['x-upstream']).toBe('yes');
        expect(res.headers.etag).toBe('"v1"');
        expect(res.headers['set-cookie']).toBeUndefined();
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(res.headers['x-request-id']).toMatch(/.+/);
      }
    });

    it("a long path (beyond the router's 200-character parameter limit) goes through whole", async () => {
      const path = `deep/${'segment-'.repeat(60)}end`;
      const res = await call(proxy(ids.acme, path));
      expect(res.status, res.text).toBe(200);
      expect(last().url).toBe(`/base/${path}`);
    });

    it('an API key that goes in the query is added to it', async () => {
      const res = await call(proxy(ids.query, 'list?page=2'));
      expect(res.status).toBe(200);
      const url = new URL(last().url, 'http://x');
      expect(url.pathname).toBe('/q/list');
      expect(url.searchParams.getAll('key')).toEqual([QUERY_KEY]);
      expect(url.searchParams.get('page')).toBe('2');
    });

    it('x-connectr-host picks another of the connector’s hosts; an unknown one is a 400 and nothing is sent', async () => {
      const res = await call(proxy(ids.acme, 'f/1'), { headers: { 'x-connectr-host': 'files' } });
      expect(res.status).toBe(200);
      expect(last().url).toBe('/files/f/1');
      expect(last().headers['x-connectr-host']).toBeUndefined();
      const before = upstream.seen.length;
      const bad = await call(proxy(ids.acme, 'f/1'), { headers: { 'x-connectr-host': 'evil.example.com' } });
      expect(bad.status).toBe(400);
      expect(errorOf(bad.text).details[0]?.field).toBe('headers.x-connectr-host');
      expect(errorOf(bad.text).hint).toContain('api, files');
      expect(upstream.seen.length).toBe(before);
    });

    it('upstream 4xx and 5xx statuses and bodies come back as they are', async () => {
      for (const code of [201, 404, 418, 500, 503]) {
        const res = await call(proxy(ids.acme, `status/${code}`));
        expect(res.status).toBe(code);
        expect(res.headers['x-upstream']).toBe('yes');
        expect(JSON.parse(res.text)).toMatchObject({ url: `/base/status/${code}` });
      }
      expect(metrics.render()).toMatch(
        /connectr_upstream_responses_total\{connector="acme",status="418"\} 1/,
      );
    });

    it('the proxy marks its own answers x-connectr-error: 1, and never an upstream answer', async () => {
      const own = [
        await call(proxy('conn_nope', 'x')),
        await call(proxy(ids.beta, 'x')),
        await call(proxy(ids.acme, 'x'), { headers: { 'x-connectr-host': 'evil.example.com' } }),
        await call(proxy(ids.acme, '%2e%2e/admin')),
        await call(proxy(ids.acme, 'x'), { key: null }),
        await call(proxy(ids.bare, 'x')),
        await call(proxy(ids.acme, 'upload'), { method: 'POST', body: Buffer.alloc(MAX_BODY + 1) }),
      ];
      for (const res of own) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.headers['x-connectr-error'], res.text).toBe('1');
        expect(errorOf(res.text).code).toMatch(/.+/);
      }
      for (const path of [
        'status/200',
        'status/404',
        'status/500',
        'status/502',
        'spoof/status/502',
        'spoof/status/200',
      ]) {
        const res = await call(proxy(ids.acme, path));
        expect(res.headers['x-upstream'], path).toBe('yes');
        expect(res.headers['x-connectr-error'], path).toBeUndefined();
        expect(res.headers['x-connectr-host'], path).toBeUndefined();
      }
    });

    it('HEAD gives the headers and no body', async () => {
      const res = await call(proxy(ids.acme, 'big?bytes=1234'), { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('1234');
      expect(res.text).toBe('');
      expect(last().method).toBe('HEAD');
    });

    it.each([
      '..',
      '../admin',
      'a/../../admin',
      '%2e%2e/admin',
      '%2E%2e/admin',
      '.%2e/admin',
      '%252e%252e/admin',
      'a%2f..%2fadmin',
      'a%5c..%5cadmin',
      '/evil.example.com/x',
      'http:%2F%2Fevil.example.com',
      'a%0d%0aX-Evil:%201',
    ])('refuses the path %s with a 400 naming params.path, sending nothing', async (path) => {
      const before = upstream.seen.length;
      // Written on the socket as is: no client normalises it first.
      const res = await rawRequest(
        `GET ${proxy(ids.acme, path)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.alpha}\r\nConnection: close\r\n\r\n`,
      );
      expect(res.status, res.text).toBe(400);
      expect(errorOf(res.body).details[0]?.field).toBe('params.path');
      expect(upstream.seen.length).toBe(before);
    });

    async function rawRequest(text: string): Promise<{ status: number; body: string; text: string }> {
      const { connect } = await import('node:net');
      const url = new URL(base);
      return new Promise((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () => socket.write(text));
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (data += chunk));
        socket.on('error', reject);
        socket.on('close', () => {
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
          const bodyAt = data.indexOf('\r\n\r\n');
          resolve({ status, body: bodyAt === -1 ? '' : data.slice(bodyAt + 4), text: data });
        });
      });
    }

    // What Tomcat, IIS, Spring or a Unicode-normalising server reads as ".." or ".": a
    // ";" path parameter, fullwidth and other dots NFKC maps to ".", in any encoding.
    it.each([
      ['..;/admin', '..;'],
      ['a/..;/admin', '..;'],
      ['..;jsessionid=1/admin', '..;jsessionid=1'],
      ['.;x/admin', '.;x'],
      ['%2e%2e;/admin', '%2e%2e;'],
      ['..%3b/admin', '..%3b'],
      ['%EF%BC%8E%EF%BC%8E/admin', '%EF%BC%8E%EF%BC%8E'],
      ['a/%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/admin', '%ef%bc%8e%ef%bc%8e'],
      ['%25EF%25BC%258E%25EF%25BC%258E/admin', '%25EF%25BC%258E%25EF%25BC%258E'],
      ['%E2%80%A4%E2%80%A4/admin', '%E2%80%A4%E2%80%A4'],
      ['%EF%B9%92%EF%B9%92/admin', '%EF%B9%92%EF%B9%92'],
      ['%E2%80%A5/admin', '%E2%80%A5'],
      ['..%EF%BC%8Fadmin', '..%EF%BC%8Fadmin'],
      [
        '%EF%BC%85%EF%BC%92%EF%BD%85%EF%BC%85%EF%BC%92%EF%BD%85/admin',
        '%EF%BC%85%EF%BC%92%EF%BD%85%EF%BC%85%EF%BC%92%EF%BD%85',
      ],
      // Overlong UTF-8 for "." (once percent-decoded: the router refuses it when not encoded twice).
      ['%25C0%25AE%25C0%25AE/admin', '%25C0%25AE%25C0%25AE'],
    ])('refuses the path %s, naming its segment %s, sending nothing', async (path, segment) => {
      const before = upstream.seen.length;
      const res = await rawRequest(
        `GET ${proxy(ids.acme, path)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.alpha}\r\nConnection: close\r\n\r\n`,
      );
      expect(res.status, res.text).toBe(400);
      expect(res.text).toMatch(/x-connectr-error: 1/i);
      const error = errorOf(res.body);
      expect(error.details[0]?.field).toBe('params.path');
      expect(error.message).toContain(JSON.stringify(segment));
      expect(error.hint).toMatch(/\.\./);
      expect(upstream.seen.length).toBe(before);
    });

    it('a name with dots, a fullwidth slash or a ";" parameter still goes through', async () => {
      for (const path of ['files/report..v2.pdf', 'a/...', 'items;v=2/x', 'a/b%EF%BC%8Fc']) {
        const res = await rawRequest(
          `GET ${proxy(ids.acme, path)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.alpha}\r\nConnection: close\r\n\r\n`,
        );
        expect(res.status, res.text).toBe(200);
        expect(last().url).toBe(`/base/${path}`);
      }
    });

    // Headers with which IIS, Symfony, Laravel or Spring replace the URL or the method.
    it.each([
      'X-Original-URL',
      'X-Rewrite-URL',
      'X-HTTP-Method-Override',
      'X-HTTP-Method',
      'X-Method-Override',
    ])('refuses the header %s with a 400 naming it, sending nothing', async (name) => {
      const before = upstream.seen.length;
      const value = name.endsWith('URL') ? '/admin' : 'DELETE';
      const res = await call(proxy(ids.acme, 'items'), { headers: { [name]: value } });
      expect(res.status, res.text).toBe(400);
      expect(res.headers['x-connectr-error']).toBe('1');
      const error = errorOf(res.text);
      expect(error.details[0]?.field).toBe(`headers.${name.toLowerCase()}`);
      expect(error.message).toContain(name.toLowerCase());
      expect(error.hint).toMatch(/.+/);
      expect(upstream.seen.length).toBe(before);
    });

    // A request line in absolute form (as sent to a forward proxy): the router reads its path
    // after the authority, and the proxy must not read another one.
    it.each(['http://other.example.com', 'http://127.0.0.1', 'https://x:1'])(
      'refuses an absolute-form request line (%s/…) with a 400, sending nothing',
      async (origin) => {
        const before = upstream.seen.length;
        const res = await rawRequest(
          `GET ${origin}${proxy(ids.acme, 'x?a=1')} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.alpha}\r\nConnection: close\r\n\r\n`,
        );
        expect(res.status, res.text).toBe(400);
        expect(res.text).toMatch(/x-connectr-error: 1/i);
        expect(errorOf(res.body).hint).toMatch(/\/api\/v1\/connections\//);
        expect(upstream.seen.length).toBe(before);
      },
    );

    it("a query-key connector gets the caller's query byte for byte, then the key", async () => {
      const query = `a=1;b=2&c=x=y&d=%3B&e=+&f=~&g="q"&h='<>'&i={|}&j=%zz&k=&&l`;
      const res = await rawRequest(
        `GET ${proxy(ids.query, `list?${query}`)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.alpha}\r\nConnection: close\r\n\r\n`,
      );
      expect(res.status, res.text).toBe(200);
      expect(last().url).toBe(`/q/list?${query}&key=${encodeURIComponent(QUERY_KEY)}`);
      // Without a query of its own: only the key.
      expect((await call(proxy(ids.query, 'list'))).status).toBe(200);
      expect(last().url).toBe(`/q/list?key=${encodeURIComponent(QUERY_KEY)}`);
    });

    // The proxy adds the key: a caller's own, in any spelling an upstream may read as the
    // same parameter, would be a second one (which one counts is the upstream's choice).
    it.each([
      'key=mine&page=2',
      'page=2&key=mine',
      'page=2&key',
      'KEY=mine',
      'k%65y=mine',
      'k%2565y=mine',
      'key%5B%5D=mine',
      'key[]=mine',
      'page=2;key=mine',
      '%EF%BD%8B%EF%BD%85%EF%BD%99=mine',
    ])('refuses a query naming the key parameter (%s) with a 400, sending nothing', async (query) => {
      const before = upstream.seen.length;
      const res = await rawRequest(
        `GET ${proxy(ids.query, `list?${query}`)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${keys.alpha}\r\nConnection: close\r\n\r\n`,
      );
      expect(res.status, res.text).toBe(400);
      const error = errorOf(res.body);
      expect(error.details[0]?.field).toBe('query.key');
      expect(error.hint).toContain('key');
      expect(upstream.seen.length).toBe(before);
      expect(res.text).not.toContain(QUERY_KEY);
    });

    it('CR/LF in a header value is a 400 naming the header, and nothing is sent', async () => {
      const before = upstream.seen.length;
      const res: LightMyRequestResponse = await app.inject({
        method: 'GET',
        url: proxy(ids.acme, 'x'),
        headers: { authorization: `Bearer ${keys.alpha}`, 'x-custom': 'a\r\nX-Injected: 1' },
      } satisfies InjectOptions);
      expect(res.statusCode).toBe(400);
      expect(res.json<ErrorEnvelope>().error.details[0]?.field).toBe('headers.x-custom');
      expect(upstream.seen.length).toBe(before);
    });

    it('no key is a 401; another project’s connection and an unknown one are 404s; nothing is sent', async () => {
      const before = upstream.seen.length;
      expect((await call(proxy(ids.acme, 'x'), { key: null })).status).toBe(401);
      expect((await call(proxy(ids.acme, 'x'), { key: 'ck_wrong_0123456789' })).status).toBe(401);
      const other = await call(proxy(ids.beta, 'x'));
      expect(other.status).toBe(404);
      expect(errorOf(other.text).code).toBe('not_found');
      expect((await call(proxy(ids.acme, 'x'), { key: keys.beta })).status).toBe(404);
      expect((await call(proxy('conn_nope', 'x'))).status).toBe(404);
      expect(upstream.seen.length).toBe(before);
    });

    it('a connection without a credential is a 409 needs_reauth with the fix', async () => {
      const res = await call(proxy(ids.bare, 'x'));
      expect(res.status).toBe(409);
      expect(errorOf(res.text)).toMatchObject({ code: 'needs_reauth' });
      expect(errorOf(res.text).hint).toContain('/credentials');
    });

    it('an unreachable upstream is a 502 with a hint naming the override variable', async () => {
      const { createServer: netServer } = await import('node:net');
      const closed = netServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const registry = daemon.registry;
      const other = await buildApp(
        depsOf(store, registry, { CONNECTR_ACME_API_BASE_URL: `http://127.0.0.1:${port}/base` }),
        { log: { level: 'info', stream: logs } },
      );
      try {
        const res = await other.inject({
          url: proxy(ids.acme, 'x?key=secret-query'),
          headers: { authorization: `Bearer ${keys.alpha}` },
        });
        expect(res.statusCode).toBe(502);
        expect(res.headers['x-connectr-error']).toBe('1');
        expect(res.json<ErrorEnvelope>().error.hint).toContain('CONNECTR_ACME_API_BASE_URL');
        expect(res.body).not.toContain('secret-query');
      } finally {
        await other.close();
      }
    });

    it('a 64 MiB download streams through, byte for byte, and only as fast as the client reads', async () => {
      const size = 64 * 1024 * 1024;
      const res = await undiciRequest(`${base}${proxy(ids.acme, `big?bytes=${size}`)}`, {
        headers: { authorization: `Bearer ${keys.alpha}` },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe(String(size));
      const download = last();
      let received = 0;
      let ahead = 0;
      for await (const chunk of res.body) {
        received += (chunk as Buffer).length;
        if (received >= 4 * 1024 * 1024 && ahead === 0) {
          // The client stops reading for a while: a proxy that buffers would drain upstream
          // meanwhile; a streaming one leaves upstream waiting, a few socket buffers ahead.
          await sleep(500);
          ahead = download.sent - received;
        }
      }
      expect(received).toBe(size);
      expect(download.sent).toBe(size);
      expect(ahead).toBeGreaterThan(0);
      expect(ahead).toBeLessThan(24 * 1024 * 1024);
    }, 60_000);

    it('an upload streams to upstream without the JSON body limit; past the proxy’s own limit it is a 413', async () => {
      const size = 6 * 1024 * 1024; // above the app's 1 MiB JSON limit, below MAX_BODY
      const res = await call(proxy(ids.acme, 'upload'), {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: Buffer.alloc(size, 0x7b),
      });
      expect(res.status, res.text).toBe(200);
      expect(last().bytes).toBe(size);
      expect(last().headers['content-length']).toBe(String(size));
      const before = upstream.seen.length;
      const big = await call(proxy(ids.acme, 'upload'), {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.alloc(MAX_BODY + 1),
      });
      expect(big.status).toBe(413);
      expect(errorOf(big.text).hint).toContain('CONNECTR_PROXY_MAX_BODY');
      expect(upstream.seen.length).toBe(before);
    }, 30_000);

    it('a chunked upload past the limit is cut off with a 413', async () => {
      const { Readable } = await import('node:stream');
      let pushed = 0;
      const body = new Readable({
        read() {
          if (pushed > MAX_BODY + 1024 * 1024) {
            this.push(null);
            return;
          }
          pushed += 256 * 1024;
          this.push(Buffer.alloc(256 * 1024));
        },
      });
      // Its own client: a connection cut mid-upload must not be reused by later tests.
      const client = new Agent();
      const res = await undiciRequest(`${base}${proxy(ids.acme, 'upload')}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.alpha}`, 'content-type': 'application/octet-stream' },
        body,
        dispatcher: client,
      })
        .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
        .finally(() => client.destroy());
      // Either the 413 arrives, or the server closed the connection while the client still sent.
      if (res instanceof Error) expect(res.message).toMatch(/closed|reset|EPIPE|other side/i);
      else expect(res.statusCode).toBe(413);
      await until(() => last().aborted || last().bytes <= MAX_BODY, 'the upload to stop');
      expect(last().bytes).toBeLessThanOrEqual(MAX_BODY);
    }, 30_000);

    it('upstream failing mid-body destroys the client connection: no truncated answer that looks complete', async () => {
      const res = await undiciRequest(`${base}${proxy(ids.acme, 'broken')}`, {
        headers: { authorization: `Bearer ${keys.alpha}` },
      });
      expect(res.statusCode).toBe(200);
      await expect(res.body.arrayBuffer()).rejects.toThrow();
    });

    it('the client going away stops the upstream request, waiting or streaming', async () => {
      const waiting = new AbortController();
      const pending = undiciRequest(`${base}${proxy(ids.acme, 'hang')}`, {
        headers: { authorization: `Bearer ${keys.alpha}` },
        signal: waiting.signal,
      }).catch(() => undefined);
      await until(() => last().url === '/base/hang', 'upstream to get the request');
      const hung = last();
      waiting.abort();
      await pending;
      await until(() => hung.aborted, 'upstream to see the abort');

      const streaming = await undiciRequest(`${base}${proxy(ids.acme, 'endless')}`, {
        headers: { authorization: `Bearer ${keys.alpha}` },
      });
      const endless = last();
      let got = 0;
      for await (const chunk of streaming.body) {
        got += (chunk as Buffer).length;
        if (got > 1024 * 1024) break;
      }
      await until(() => endless.aborted, 'upstream to see the download stop');
    }, 20_000);

    it('an expired OAuth token is refreshed once before forwarding; the fresh one is sent', async () => {
      await putCredential(store.db, store.keys, {
        projectId: alphaProject,
        connectionId: ids.oauth,
        secret: {
          access_token: STALE_TOKEN,
          refresh_token: REFRESH_TOKEN,
          token_type: 'Bearer',
          scopes: ['read'],
          expires_at: new Date(Date.now() - 1000).toISOString(),
        } satisfies OAuthSecret,
        expiresAt: new Date(Date.now() - 1000),
      });
      const before = tokens.requests;
      const res = await call(proxy(ids.oauth, 'me'));
      expect(res.status, res.text).toBe(200);
      expect(tokens.requests).toBe(before + 1);
      expect(last().headers.authorization).toBe(`Bearer fresh-SECRET-access-${tokens.requests}`);
      expect(last().url).toBe('/oauth/me');
      // The new token is stored: the next call needs no refresh.
      expect((await call(proxy(ids.oauth, 'me'))).status).toBe(200);
      expect(tokens.requests).toBe(before + 1);
      expect(metrics.render()).toMatch(/connectr_token_refreshes_total\{connector="oauthco"\} \d+/);
    });

    it('a 401 for a request without a body: one refresh and one replay; with a body the 401 comes back', async () => {
      const setStale = async (): Promise<void> => {
        await putCredential(store.db, store.keys, {
          projectId: alphaProject,
          connectionId: ids.oauth,
          secret: {
            access_token: STALE_TOKEN,
            refresh_token: REFRESH_TOKEN,
            token_type: 'Bearer',
            scopes: ['read'],
          },
          expiresAt: new Date(Date.now() + 3600_000),
        });
        clock.pass();
      };
      await setStale();
      let before = tokens.requests;
      let seenBefore = upstream.seen.length;
      const res = await call(proxy(ids.oauth, 'me'));
      expect(res.status, res.text).toBe(200);
      expect(tokens.requests).toBe(before + 1);
      const attempts = upstream.seen.slice(seenBefore);
      expect(attempts.map((s) => s.headers.authorization)).toEqual([
        `Bearer ${STALE_TOKEN}`,
        `Bearer fresh-SECRET-access-${tokens.requests}`,
      ]);

      await setStale();
      before = tokens.requests;
      seenBefore = upstream.seen.length;
      const posted = await call(proxy(ids.oauth, 'me'), {
        method: 'POST',
        body: 'payload',
        headers: { 'content-type': 'text/plain' },
      });
      expect(posted.status).toBe(401);
      expect(posted.headers['www-authenticate']).toContain('invalid_token');
      expect(tokens.requests).toBe(before);
      expect(upstream.seen.length).toBe(seenBefore + 1);
    });

    it('no token, key or secret appears in any log line', () => {
      expect(logs.text.length).toBeGreaterThan(0);
      for (const secret of [
        ACME_KEY,
        QUERY_KEY,
        STALE_TOKEN,
        REFRESH_TOKEN,
        CLIENT_SECRET,
        'fresh-SECRET-access',
        keys.alpha,
        keys.beta,
      ]) {
        expect(logs.text).not.toContain(secret);
      }
    });
  });
}
