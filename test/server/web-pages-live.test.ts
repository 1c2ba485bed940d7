import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import type { RunningBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { seedPglite } from '../helpers/server-store.js';

/**
 * The web pages' hostile requests against a real `connectr serve` (PGlite, its default log):
 * huge and odd form bodies, forged and foreign cookies, a Connect token used as an API key, a
 * path that climbs out of /assets, another project's connection, a client that sends half a
 * form and stops. Every answer is a page or an error of the daemon's, never a stack trace, no
 * secret reaches the log, and the daemon keeps answering.
 */

const STARTED = /connectr serve: listening on (http:\/\/127\.0\.0\.1:\d+) \(store: pglite/;

describe.skipIf(process.platform === 'win32')('web pages against a real connectr serve', () => {
  const h = tempHome();
  const env: Record<string, string> = {
    ...h.env,
    CONNECTR_ENCRYPTION_KEY: Buffer.alloc(32, 2).toString('base64'),
  };
  delete env.DATABASE_URL;
  let running: RunningBin;
  let stderr = '';
  let base = '';
  let key = '';
  let other = '';

  beforeAll(async () => {
    seedPglite(h.env.CONNECTR_HOME ?? '');
    // Keys first: PGlite has one process at a time.
    const made = await runBin(['serve', 'keys', 'create', '--name', 'live', '--json'], env, {
      timeoutMs: 60_000,
    });
    expect(made.code, made.stderr).toBe(0);
    key = (JSON.parse(made.stdout) as { key: string }).key;
    const second = await runBin(
      ['serve', 'keys', 'create', '--name', 'other', '--project', 'other', '--json'],
      env,
      { timeoutMs: 60_000 },
    );
    expect(second.code, second.stderr).toBe(0);
    other = (JSON.parse(second.stdout) as { key: string }).key;
    running = startBin(['serve', '--port', '0'], env, 180_000);
    running.child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    base = (await running.waitForStderr(STARTED, 90_000))[1] ?? '';
  }, 150_000);
  afterAll(() => {
    running.child.kill('SIGKILL');
    h.cleanup();
  });

  const api = (path: string, body: unknown, bearer = key) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const form = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });

  it('a Connect token opens no API route, and another project cannot make a session for a connection it does not own', async () => {
    const created = await api('/api/v1/connections', { connector_type: 'gmail', name: 'mine' });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const session = await api('/api/v1/connect/sessions', { end_user: { id: 'u-1' } });
    expect(session.status).toBe(201);
    const { token } = (await session.json()) as { token: string };
    const asKey = await fetch(`${base}/api/v1/connections`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(asKey.status).toBe(401);
    const foreign = await api(
      '/api/v1/connect/sessions',
      { end_user: { id: 'u-2' }, connection_id: id },
      other,
    );
    expect(foreign.status).toBe(404);
    // Exchanged once for the cookie; a cookie that is not a session's opens nothing.
    const exchanged = await form('/connect/session', `token=${token}`, { 'sec-fetch-site': 'same-origin' });
    expect(exchanged.status).toBe(303);
    const forged = await fetch(`${base}/connect`, {
      headers: { cookie: `connectr_connect=cnct_${'A'.repeat(43)}` },
    });
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);
    const crossSite = await form('/connect/session', `token=${token}`, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect(stderr).not.toContain(token);
  }, 30_000);

  it('huge, malformed and repeated form fields get a 4xx page or error, never a stack trace', async () => {
    const huge = await form('/console/sign-in', `api_key=${'a'.repeat(200_000)}`);
    expect(huge.status).toBe(413);
    for (const body of ['%', 'api_key=%E0%A4%A', 'csrf=1&csrf=2&api_key=x&api_key=y', '\u0000=\u0000']) {
      const answer = await form('/console/sign-in', body);
      expect(answer.status, body).toBeGreaterThanOrEqual(400);
      expect(answer.status, body).toBeLessThan(500);
      expect(await answer.text()).not.toMatch(/\n\s+at /);
    }
    const odd = await form('/connect/session', `token=${'x'.repeat(5000)}`, {
      'sec-fetch-site': 'same-origin',
    });
    expect(odd.status).toBe(404);
    // A key typed into the console never reaches the log.
    await form('/console/sign-in', `api_key=${encodeURIComponent(other)}&csrf=nope`);
    expect(stderr).not.toContain(other);
  }, 30_000);

  it('paths out of /assets, forged console cookies and a half-sent form leave the daemon answering', async () => {
    for (const path of [
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/connectr.css%00.js',
    ]) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
    const forged = await fetch(`${base}/console/keys`, {
      redirect: 'manual',
      headers: { cookie: `connectr_console=${'Z'.repeat(43)}; connectr_console=<script>` },
    });
    expect(forged.status).toBe(303);
    expect(forged.headers.get('location')).toBe('/console');
    // A client that declares a form and sends a few bytes of it, then goes quiet and leaves.
    await new Promise<void>((resolve) => {
      const { hostname, port } = new URL(base);
      const slow = httpRequest({
        host: hostname,
        port,
        method: 'POST',
        path: '/console/sign-in',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '1000' },
      });
      slow.on('error', () => resolve());
      slow.write('api_key=');
      setTimeout(() => {
        slow.destroy();
        resolve();
      }, 300);
    });
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
  }, 30_000);
});
