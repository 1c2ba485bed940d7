import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import { startBrokenProxy, startFaultyServer } from '../helpers/faulty-server.js';
import type { BrokenProxy, FaultyServer } from '../helpers/faulty-server.js';
import { tempHome } from '../helpers/home.js';

/**
 * Faults of the network and of servers, through the real binary: each ends within its bounds
 * with a documented exit code and a message, never "internal error" (issue #7, points 10, 11).
 */
describe('network faults', () => {
  const home = tempHome();
  let server: FaultyServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    server = await startFaultyServer();
    env = {
      ...home.env,
      CONNECTR_GMAIL_API_BASE_URL: server.url,
      CONNECTR_GMAIL_TOKEN: 'gmail-token',
      CONNECTR_ONEDRIVE_GRAPH_BASE_URL: `${server.url}/v1.0`,
      CONNECTR_ONEDRIVE_TOKEN: 'graph-token',
    };
  });
  afterAll(async () => {
    await server.close();
    home.cleanup();
  });

  describe('a proxy that drops every connection', () => {
    let proxy: BrokenProxy;
    afterEach(async () => {
      await proxy.close();
    });

    it('is retried within --retries with backoff, then exit 5', async () => {
      proxy = await startBrokenProxy('drop');
      const started = Date.now();
      const r = await runBin(
        ['call', 'gmail', 'list_messages', '--retries', '2', '--timeout', '5s'],
        { ...home.env, CONNECTR_GMAIL_TOKEN: 'gmail-token', HTTPS_PROXY: proxy.url },
        { timeoutMs: 15_000 },
      );
      expect(r.stderr).toContain('the proxy closed the connection');
      expect(r.stderr).toContain('hint: check the proxy (HTTPS_PROXY / HTTP_PROXY)');
      expect(r.code).toBe(5);
      expect(proxy.connections()).toBe(3);
      expect(Date.now() - started).toBeLessThan(12_000);
    });

    it('ends with 130 on Ctrl-C while it retries', async () => {
      proxy = await startBrokenProxy('drop');
      const running = startBin(
        ['call', 'gmail', 'list_messages', '--retries', '50', '--verbose'],
        { ...home.env, CONNECTR_GMAIL_TOKEN: 'gmail-token', HTTPS_PROXY: proxy.url },
        20_000,
      );
      await running.waitForStderr(/retry 1 in/);
      const sent = Date.now();
      running.child.kill('SIGINT');
      const r = await running.done;
      expect(r.code).toBe(130);
      expect(Date.now() - sent).toBeLessThan(1900);
      expect(r.stderr).not.toContain('internal error');
      expect(proxy.connections()).toBeLessThan(10);
    });

    it('that never answers: Ctrl-C ends the wait at once with 130', async () => {
      proxy = await startBrokenProxy('hang');
      const running = startBin(
        ['call', 'gmail', 'list_messages', '--timeout', '60s'],
        { ...home.env, CONNECTR_GMAIL_TOKEN: 'gmail-token', HTTPS_PROXY: proxy.url },
        20_000,
      );
      while (proxy.connections() === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      const sent = Date.now();
      running.child.kill('SIGINT');
      const r = await running.done;
      expect(r.code).toBe(130);
      expect(r.stderr).toBe('error: interrupted\n');
      // bin.ts forces an exit after 2 s when a command does not stop by itself.
      expect(Date.now() - sent).toBeLessThan(1900);
    });

    it('that never answers stops at --timeout, and the hint names --timeout', async () => {
      proxy = await startBrokenProxy('hang');
      const started = Date.now();
      const r = await runBin(
        ['call', 'gmail', 'list_messages', '--retries', '1', '--timeout', '1s'],
        { ...home.env, CONNECTR_GMAIL_TOKEN: 'gmail-token', HTTPS_PROXY: proxy.url },
        { timeoutMs: 15_000 },
      );
      expect(r.stderr).toContain('nothing arrived for 1s');
      expect(r.stderr).toMatch(/hint: wait longer with --timeout/);
      expect(r.code).toBe(5);
      expect(Date.now() - started).toBeLessThan(8000);
    });
  });

  it('a response body that stalls after the headers: exit 5 naming --timeout', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"messages": [');
    });
    const r = await runBin(['call', 'gmail', 'list_messages', '--timeout', '1s', '--retries', '0'], env);
    expect(r.stderr).toContain('the response stalled');
    expect(r.stderr).toContain('--timeout');
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(5);
  });

  it('a stalled page under --all: exit 5', async () => {
    const r = await runBin(
      ['call', 'gmail', 'list_messages', '--all', '--timeout', '1s', '--retries', '0'],
      env,
    );
    expect(r.stderr).toContain('the response stalled');
    expect(r.code).toBe(5);
  });

  it('a connection reset in the middle of the body: exit 5', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"messages": [', () => res.socket?.destroy());
    });
    for (const args of [[], ['--all'], ['-o', `${home.dir}/out.json`]]) {
      const r = await runBin(['call', 'gmail', 'list_messages', '--retries', '0', ...args], env);
      expect(r.stderr).toContain('the response broke off');
      expect(r.stderr).not.toContain('internal error');
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(5);
    }
  });

  it('invalid JSON in a page under --all: exit 4', async () => {
    server.handle((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        (req.url ?? '').includes('pageToken')
          ? '{"messages": [{"id": "2"'
          : '{"messages": [{"id": "1"}], "nextPageToken": "p2"}',
      );
    });
    const r = await runBin(['call', 'gmail', 'list_messages', '--all'], env);
    expect(r.stdout).toBe('{"id":"1"}\n');
    expect(r.stderr).toMatch(/^error: Gmail answered page 2 of list_messages with invalid JSON/);
    expect(r.code).toBe(4);
  });

  it('a page token that repeats stops --all: exit 4', async () => {
    const before = server.requests.length;
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"messages": [{"id": "1"}], "nextPageToken": "same"}');
    });
    const r = await runBin(['call', 'gmail', 'list_messages', '--all'], env);
    expect(r.stderr).toContain('Gmail sent a page token it had already sent');
    expect(r.code).toBe(4);
    expect(server.requests.length - before).toBe(2);
  });

  it('CR/LF in a header value is refused before sending: exit 1 naming the flag', async () => {
    const before = server.requests.length;
    server.handle((_req, res) => res.writeHead(204).end());
    const r = await runBin(
      [
        'call',
        'onedrive',
        'delete',
        '--item-id',
        '01A',
        '--if-match',
        '"x"\r\nX-Injected: 1',
        '--retries',
        '3',
      ],
      env,
    );
    expect(r.stderr).toContain('error: --if-match contains a control character (U+000D, CR)');
    expect(r.code).toBe(1);
    expect(server.requests.length).toBe(before);
  });

  it('a token with a line break is refused, not retried, and not printed', async () => {
    const before = server.requests.length;
    const r = await runBin(['call', 'gmail', 'list_messages', '--retries', '3'], {
      ...env,
      CONNECTR_GMAIL_TOKEN: 'secret-token\nX-Injected: 1',
    });
    expect(r.stderr).toContain('error: the authorization header contains a control character (U+000A, LF)');
    expect(r.stderr).not.toContain('secret-token');
    expect(r.code).toBe(1);
    expect(server.requests.length).toBe(before);
  });

  it('--timeout does not cut off an upload that is slow but moving', async () => {
    const file = join(home.dir, 'slow.bin');
    writeFileSync(file, Buffer.alloc(16 * 1024 * 1024, 7));
    let received = 0;
    server.handle((req, res) => {
      // About 3 s or more to read it all, in small steps: longer than --timeout, never silent that long.
      req.on('data', (d: Buffer) => {
        received += d.length;
        req.pause();
        setTimeout(() => req.resume(), 10);
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ name: 'slow.bin', size: received }));
      });
    });
    const started = Date.now();
    const r = await runBin(
      [
        'call',
        'dropbox',
        'upload',
        '--path',
        '/slow.bin',
        '--file',
        file,
        '--timeout',
        '2s',
        '--retries',
        '0',
      ],
      { ...env, CONNECTR_DROPBOX_CONTENT_BASE_URL: server.url, CONNECTR_DROPBOX_TOKEN: 'dbx' },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(received).toBe(16 * 1024 * 1024);
    expect(Date.now() - started).toBeGreaterThan(2500);
  });

  it('a redirect loop says so: exit 4, no retries', async () => {
    const before = server.requests.length;
    server.handle((req, res) => {
      const back = (req.url ?? '').includes('bounce') ? '/gmail/v1/users/me/messages' : '/bounce';
      res.writeHead(302, { location: back }).end();
    });
    const r = await runBin(['call', 'gmail', 'list_messages', '--retries', '3'], env);
    expect(r.stderr).toContain('error: redirect loop: GET');
    expect(r.code).toBe(4);
    expect(server.requests.length - before).toBe(2);
  });

  it('too many redirects are bounded: exit 4', async () => {
    const before = server.requests.length;
    let n = 0;
    server.handle((_req, res) => {
      res.writeHead(302, { location: `/hop/${String(++n)}` }).end();
    });
    const r = await runBin(['call', 'gmail', 'list_messages', '--retries', '3'], env);
    expect(r.stderr).toContain('error: too many redirects');
    expect(r.code).toBe(4);
    expect(server.requests.length - before).toBe(11);
  });
});
