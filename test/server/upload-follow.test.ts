import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { BACKENDS } from '../helpers/server-store.js';
import { callApi, daemonWithConnection } from './helpers.js';
import type { DaemonWithConnection } from './helpers.js';
import { recordingServer } from '../helpers/net.js';
import type { RecordingServer } from '../helpers/net.js';

/**
 * SSRF through an upload session (issue #21, the class of point 3): the upload URL an API
 * answers (Graph's uploadUrl, Google's resumable Location, Slack's upload_url) receives the
 * caller's bytes, and its answer goes back to the caller. Replayed against a real daemon socket:
 * the connector's API (127.0.0.1:A, so the connector is local) answers an upload URL on another
 * port, on 127.0.0.2 and on ::1, "internal" services that record every request. None may be
 * reached; execute answers 502 `follow_refused` naming the host. An upload URL on the API's own
 * origin, or on an origin of the connector's redirect_hosts (sent without the credential),
 * still works.
 */

const API_KEY = 'acme-key-SECRET-51e0';
const PAYLOAD = 'caller-bytes-PAYLOAD-8c2d';

/** What an upload URL answers, as each protocol's last step expects. */
function uploadAnswer(req: IncomingMessage, res: ServerResponse): void {
  if (req.url?.includes('/slack')) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    return;
  }
  res.writeHead(201, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ id: 'file-1', name: 'uploaded' }));
}

const variant = BACKENDS[0];

describe.skipIf(variant === undefined || variant.skip !== undefined)(
  'upload-session URLs of execute stay on the connector’s hosts',
  () => {
    let daemon: DaemonWithConnection;
    let base = '';
    let key = '';
    let connection = '';
    let dir = '';
    let api: RecordingServer;
    /** An upload host the connector lists in redirect_hosts (through its environment variable). */
    let files: RecordingServer;
    /** 127.0.0.1, another port: a service the daemon's machine runs for itself. */
    let port: RecordingServer;
    /** 127.0.0.2: another loopback address. */
    let other: RecordingServer | undefined;
    /** ::1, where the machine has IPv6 loopback. */
    let six: RecordingServer | undefined;
    const internals = (): RecordingServer[] => [port, ...(other ? [other] : []), ...(six ? [six] : [])];

    beforeAll(async () => {
      const internal = (req: IncomingMessage, res: ServerResponse): void => uploadAnswer(req, res);
      const listening = await recordingServer('127.0.0.1', internal);
      const upload = await recordingServer('127.0.0.1', (req, res) => uploadAnswer(req, res));
      if (!listening || !upload) throw new Error('cannot listen on 127.0.0.1');
      port = listening;
      files = upload;
      other = await recordingServer('127.0.0.2', internal);
      six = await recordingServer('::1', internal);
      const targets: Record<string, (protocol: string) => string> = {
        same: (p) => `${api.origin}/base/upload/${p}`,
        files: (p) => `${files.origin}/upload/${p}`,
        port: (p) => `${port.origin}/latest/${p}`,
        other: (p) => `${other?.origin ?? port.origin}/latest/${p}`,
        six: (p) => `${six?.origin ?? port.origin}/latest/${p}`,
        bad: () => 'http://[not a url',
      };
      const apiServer = await recordingServer('127.0.0.1', (req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        const to = (p: string): string => targets[url.searchParams.get('to') ?? 'same']?.(p) ?? '';
        const json = (body: unknown, headers: Record<string, string> = {}): void => {
          res.writeHead(200, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(body));
        };
        if (url.pathname === '/base/graph/start') json({ uploadUrl: to('graph') });
        else if (url.pathname === '/base/google/start') {
          res.writeHead(200, { location: to('google'), 'content-length': '0' });
          res.end();
        } else if (url.pathname === '/base/slack/start')
          json({ ok: true, upload_url: to('slack'), file_id: 'F1' });
        else if (url.pathname === '/base/slack/finish') json({ ok: true, files: [{ id: 'F1' }] });
        else if (url.pathname.startsWith('/base/upload/')) uploadAnswer(req, res);
        else res.writeHead(404).end();
      });
      if (!apiServer) throw new Error('cannot listen on 127.0.0.1');
      api = apiServer;

      dir = mkdtempSync(join(tmpdir(), 'connectr-upload-follow-'));
      const session = (protocol: string, extra = ''): string[] => [
        `  up_${protocol}:`,
        `    summary: Uploads through a ${protocol} session.`,
        '    method: PUT',
        `    path: /${protocol}/simple`,
        '    params:',
        '      to: {in: query}',
        '      file: {in: raw, type: file}',
        '    request: {encoding: binary, content_type: application/octet-stream}',
        `    upload_session: {protocol: ${protocol}, threshold: 0, chunk_size: 1048576, start: ${protocol}_start${extra}}`,
        `  ${protocol}_start:`,
        '    summary: Starts a session.',
        '    method: POST',
        `    path: /${protocol}/start`,
        '    params:',
        '      to: {in: query}',
        ...(protocol === 'slack' ? ['      length: {in: query, type: integer}'] : []),
      ];
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
          ...session('graph'),
          ...session('google'),
          ...session('slack', ', finish: slack_finish'),
          '  slack_finish:',
          '    summary: Finishes a Slack upload.',
          '    method: POST',
          '    path: /slack/finish',
          '    params:',
          '      files: {in: body, type: array, items: object}',
          '',
        ].join('\n'),
      );
      const registry = await loadRegistry({ extraDirs: [dir] });
      expect(registry.invalid).toEqual([]);

      if (!variant) throw new Error('no backend');
      daemon = await daemonWithConnection({
        variant,
        registry,
        env: {
          CONNECTR_ACME_API_BASE_URL: `${api.origin}/base`,
          CONNECTR_ACME_REDIRECT_HOSTS: files.origin,
        },
        connector: 'acme',
        credential: {
          api_key: API_KEY,
        },
      });

      ({ base, key, connection } = daemon);
    }, 60_000);

    afterAll(async () => {
      await daemon.close();
      for (const s of [api, files, ...internals()]) await s.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const upload = (protocol: string, to: string) =>
      callApi(base, 'POST', '/api/v1/proxy/execute', key, {
        connection_id: connection,
        endpoint: `up_${protocol}`,
        params: { to },
        body_base64: Buffer.from(PAYLOAD).toString('base64'),
      });

    const protocols = ['graph', 'google', 'slack'];

    it.each(protocols)(
      '%s: an upload URL on the API’s own origin still receives the bytes',
      async (protocol) => {
        const before = api.hits.length;
        const r = await upload(protocol, 'same');
        expect(r.status, r.text).toBe(200);
        expect(r.json).toMatchObject({ status: protocol === 'slack' ? 200 : 201 });
        const sent = api.hits.slice(before).find((h) => h.url.startsWith('/base/upload/'));
        expect(sent?.body).toBe(PAYLOAD);
      },
    );

    it.each(protocols)(
      '%s: an upload URL on a redirect_hosts origin receives the bytes without the credential',
      async (protocol) => {
        const before = files.hits.length;
        const r = await upload(protocol, 'files');
        expect(r.status, r.text).toBe(200);
        const sent = files.hits.slice(before);
        expect(sent.map((h) => h.body)).toEqual([PAYLOAD]);
        expect(sent[0]?.headers['x-api-key']).toBeUndefined();
      },
    );

    it.each(protocols.flatMap((p) => ['port', 'other', 'six'].map((to) => [p, to] as const)))(
      '%s: an upload URL on %s is refused: 502 follow_refused naming the host, nothing sent there',
      async (protocol, to) => {
        const r = await upload(protocol, to);
        expect(r.status, r.text).toBe(502);
        const error = (r.json as { error: { code: string; message: string } }).error;
        expect(error.code).toBe('follow_refused');
        expect(error.message).toMatch(/^refused to follow an upload URL of Acme to /);
        const origin =
          to === 'port'
            ? port.origin
            : to === 'other'
              ? (other?.origin ?? port.origin)
              : (six?.origin ?? port.origin);
        expect(error.message).toContain(new URL(origin).host);
        expect(r.text).not.toContain(API_KEY);
        for (const s of internals()) expect(s.hits, s.origin).toEqual([]);
      },
    );

    it.each(protocols)('%s: an upload URL that is not a URL is a 502, not a 500', async (protocol) => {
      const r = await upload(protocol, 'bad');
      expect(r.status, r.text).toBe(502);
    });
  },
);
