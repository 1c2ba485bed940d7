import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { BACKENDS } from '../helpers/server-store.js';
import { LogCapture, callApi, daemonWithConnection } from './helpers.js';
import type { DaemonWithConnection } from './helpers.js';
import { recordingServer } from '../helpers/net.js';
import type { RecordingServer } from '../helpers/net.js';

/**
 * SSRF through execute and MCP (issue #21, point 3), replayed against a real daemon socket: the
 * connector's API (on 127.0.0.1:A) redirects, or links its next page, to "internal" services on
 * another port, another loopback address and ::1, which hold a secret and record every request.
 * None of them may be reached; the caller gets a 502 `follow_refused` naming the refused host.
 * Redirects and links within the API's own origin still work. One backend (PGlite) is enough:
 * nothing here is about the store.
 */

const API_KEY = 'acme-key-SECRET-7d1c';
const INTERNAL_SECRET = 'internal-metadata-SECRET-0f3a';

const internal = (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ items: [INTERNAL_SECRET], secret: INTERNAL_SECRET }));
};

const variant = BACKENDS[0];

describe.skipIf(variant === undefined || variant.skip !== undefined)(
  'redirects and page links of execute and MCP stay on the connector’s hosts',
  () => {
    let daemon: DaemonWithConnection;
    let base = '';
    let key = '';
    let connection = '';
    let dir = '';
    let api: RecordingServer;
    /** 127.0.0.1, another port: a service the daemon's machine runs for itself. */
    let port: RecordingServer;
    /** 127.0.0.2: another loopback address. */
    let other: RecordingServer | undefined;
    /** ::1, where the machine has IPv6 loopback. */
    let six: RecordingServer | undefined;
    const logs = new LogCapture();
    const internals = (): RecordingServer[] => [port, ...(other ? [other] : []), ...(six ? [six] : [])];

    beforeAll(async () => {
      const listening = await recordingServer('127.0.0.1', internal);
      if (!listening) throw new Error('cannot listen on 127.0.0.1');
      port = listening;
      other = await recordingServer('127.0.0.2', internal);
      six = await recordingServer('::1', internal);
      const targets: Record<string, () => string> = {
        same: () => `${api.origin}/base/ok`,
        relative: () => '/base/ok',
        port: () => `${port.origin}/latest/meta-data`,
        other: () => `${other?.origin ?? port.origin}/latest/meta-data`,
        six: () => `${six?.origin ?? port.origin}/latest/meta-data`,
        localhost: () => api.origin.replace('127.0.0.1', 'localhost') + '/base/ok',
        mapped: () => api.origin.replace('127.0.0.1', '[::ffff:127.0.0.1]') + '/base/ok',
        userinfo: () => api.origin.replace('://', '://user:pw@') + '/base/ok',
        external: () => 'http://169.254.169.254/latest/meta-data',
      };
      const apiServer = await recordingServer('127.0.0.1', (req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        const json = (body: unknown, headers: Record<string, string> = {}): void => {
          res.writeHead(200, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(body));
        };
        const go = /^\/base\/go\/(\w+)$/.exec(url.pathname);
        if (go) {
          res.writeHead(302, { location: targets[go[1] ?? '']?.() ?? '/base/ok', 'content-length': '0' });
          res.end();
        } else if (url.pathname === '/base/ok') json({ ok: true });
        else if (url.pathname === '/base/pages') {
          const to = url.searchParams.get('to') ?? 'same';
          json({ items: ['first'], next: to === 'same' ? `${api.origin}/base/last` : targets[to]?.() });
        } else if (url.pathname === '/base/last') json({ items: ['last'] });
        else if (url.pathname === '/base/linked') {
          const to = url.searchParams.get('to') ?? 'same';
          const next = to === 'same' ? `${api.origin}/base/last` : (targets[to]?.() ?? '');
          json({ items: ['first'] }, { link: `<${next}>; rel="next"` });
        } else {
          res.writeHead(404).end();
        }
      });
      if (!apiServer) throw new Error('cannot listen on 127.0.0.1');
      api = apiServer;

      dir = mkdtempSync(join(tmpdir(), 'connectr-follow-'));
      writeFileSync(
        join(dir, 'acme.yaml'),
        [
          'name: acme',
          'display_name: Acme',
          'version: 1',
          'docs_url: https://example.com/docs',
          'description: Test.',
          'hosts:',
          '  api: https://api.example.com/base',
          'auth:',
          '  type: api_key',
          '  in: header',
          '  name: X-Api-Key',
          'endpoints:',
          '  go:',
          '    summary: Follows a redirect.',
          '    method: GET',
          '    path: /go/{kind}',
          '    params:',
          '      kind: {in: path, required: true}',
          '  pages:',
          '    summary: Pages by next link.',
          '    method: GET',
          '    path: /pages',
          '    params:',
          '      to: {in: query}',
          '    pagination: {style: next_link, next_path: next, items_path: items}',
          '  linked:',
          '    summary: Pages by Link header.',
          '    method: GET',
          '    path: /linked',
          '    params:',
          '      to: {in: query}',
          '    pagination: {style: link_header, items_path: items}',
          '',
        ].join('\n'),
      );
      const registry = await loadRegistry({ extraDirs: [dir] });
      expect(registry.invalid).toEqual([]);

      if (!variant) throw new Error('no backend');
      daemon = await daemonWithConnection({
        variant,
        registry,
        env: { CONNECTR_ACME_API_BASE_URL: `${api.origin}/base` },
        connector: 'acme',
        credential: {
          api_key: API_KEY,
        },
        app: {
          log: { level: 'info', stream: logs },
        },
      });

      ({ base, key, connection } = daemon);
    }, 60_000);

    afterAll(async () => {
      await daemon.close();
      for (const s of [api, ...internals()]) await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const execute = (endpoint: string, params: Record<string, unknown>, all = false) =>
      callApi(base, 'POST', '/api/v1/proxy/execute', key, {
        connection_id: connection,
        endpoint,
        params,
        ...(all ? { all: true } : {}),
      });

    const nothingReachedInside = (): void => {
      for (const s of internals()) expect(s.hits, s.origin).toEqual([]);
    };

    it('follows a redirect within the API’s own origin, relative or absolute', async () => {
      for (const kind of ['same', 'relative']) {
        const r = await execute('go', { kind });
        expect(r.status, r.text).toBe(200);
        expect(r.json).toMatchObject({ status: 200, body: { ok: true } });
      }
    });

    it.each([
      ['port', 'another port of 127.0.0.1'],
      ['other', 'another loopback address (127.0.0.2)'],
      ['six', 'the IPv6 loopback'],
      ['localhost', 'the same port by another name (localhost)'],
      ['mapped', 'the same port as an IPv4-mapped IPv6 address'],
      ['userinfo', 'the same origin with user information'],
      ['external', 'a cloud metadata address'],
    ])(
      'refuses a redirect to %s (%s): 502 follow_refused naming the host, nothing sent there',
      async (kind) => {
        const r = await execute('go', { kind });
        expect(r.status, r.text).toBe(502);
        const error = (r.json as { error: { code: string; message: string; hint?: string } }).error;
        expect(error.code).toBe('follow_refused');
        expect(error.message).toMatch(/^refused to follow a redirect of Acme to /);
        const host =
          kind === 'userinfo' || kind === 'mapped' || kind === 'localhost'
            ? ''
            : new URL(
                kind === 'port'
                  ? port.origin
                  : kind === 'other'
                    ? (other?.origin ?? port.origin)
                    : kind === 'six'
                      ? (six?.origin ?? port.origin)
                      : 'http://169.254.169.254',
              ).host;
        expect(error.message).toContain(host);
        expect(r.text).not.toContain(INTERNAL_SECRET);
        expect(r.text).not.toContain(API_KEY);
        nothingReachedInside();
      },
    );

    it('follows next_link and Link pages within the origin with all: true', async () => {
      for (const endpoint of ['pages', 'linked']) {
        const r = await execute(endpoint, {}, true);
        expect(r.status, r.text).toBe(200);
        expect(
          r.text
            .trimEnd()
            .split('\n')
            .map((l) => JSON.parse(l) as unknown),
        ).toEqual(['first', 'last']);
      }
    });

    it.each([
      ['pages', 'port'],
      ['pages', 'other'],
      ['pages', 'six'],
      ['linked', 'port'],
      ['linked', 'other'],
      ['linked', 'localhost'],
    ])(
      'with all: true, %s refuses a next page on %s: the stream ends with follow_refused',
      async (endpoint, to) => {
        const r = await execute(endpoint, { to }, true);
        expect(r.status, r.text).toBe(200);
        const lines = r.text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown);
        expect(lines[0]).toBe('first');
        expect(lines).toHaveLength(2);
        expect(lines[1]).toMatchObject({
          error: {
            code: 'follow_refused',
            message: expect.stringMatching(/^refused to follow a next-page link of Acme to /) as string,
          },
        });
        expect(r.text).not.toContain(INTERNAL_SECRET);
        nothingReachedInside();
      },
    );

    it('MCP: a tool whose API redirects inside is an error result naming the host; nothing sent there', async () => {
      const call = async (
        kind: string,
      ): Promise<{ status: number; text: string; json: Record<string, unknown> }> => {
        const response = await fetch(`${base}/mcp`, {
          method: 'POST',
          headers: {
            accept: 'application/json, text/event-stream',
            'content-type': 'application/json',
            authorization: `Bearer ${key}`,
            'connection-id': connection,
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name: 'acme_go', arguments: { kind } },
          }),
        });
        const text = await response.text();
        return { status: response.status, text, json: JSON.parse(text) as Record<string, unknown> };
      };
      const fine = await call('same');
      expect(fine.status, fine.text).toBe(200);
      expect(fine.text).toContain('ok');
      expect(fine.json).not.toMatchObject({ result: { isError: true } });
      for (const kind of ['port', 'other', 'six', 'external']) {
        const r = await call(kind);
        expect(r.status, r.text).toBe(200);
        expect(r.json).toMatchObject({ result: { isError: true } });
        expect(r.text).toContain('refused to follow a redirect of Acme to');
        expect(r.text).not.toContain(INTERNAL_SECRET);
      }
      nothingReachedInside();
    });

    it('never put the secrets in a log line', () => {
      expect(logs.text).not.toContain(API_KEY);
      expect(logs.text).not.toContain(INTERNAL_SECRET);
    });
  },
);
