import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { BACKENDS, variantTitle } from '../helpers/server-store.js';

/**
 * `connectr serve logs` against the real binary: a `connectr serve` (PGlite, and PostgreSQL
 * where it exists) records a refused execute; `serve logs --json` lists it, `--follow` prints
 * each later call once and exits 0 on Ctrl-C; with no server at the address it is a clear
 * error (exit 5), and a bad --since a usage error (exit 2).
 */

const STARTED = /connectr serve: listening on (http:\/\/127\.0\.0\.1:\d+)/;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

interface Entry {
  request_id: string;
  kind: string;
  connector: string;
  error_code: string | null;
}

const lines = (text: string): Entry[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Entry);

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`connectr serve logs on ${variantTitle(variant)}`, () => {
    it('lists the calls of a running server and follows new ones until Ctrl-C', async () => {
      const backend = await variant.fresh();
      cleanups.push(() => {
        backend.cleanup();
      });
      const env: Record<string, string> = {
        ...backend.env,
        CONNECTR_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
        CONNECTR_CALL_LOG_FLUSH_MS: '50',
      };
      const serve = startBin(['serve', '--port', '0', '--log-level', 'warn'], env, 120_000);
      cleanups.push(() => serve.child.kill('SIGKILL'));
      const [, url = ''] = await serve.waitForStderr(STARTED, 90_000);
      const created = await runBin(['serve', 'keys', 'create', '--name', 'logs', '--json'], env, {
        timeoutMs: 60_000,
      });
      expect(created.code, created.stderr).toBe(0);
      const key = (JSON.parse(created.stdout) as { key: string }).key;
      const api = (method: string, path: string, body?: unknown): Promise<Response> =>
        fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      const connection = (await (
        await api('POST', '/api/v1/connections', { connector_type: 'gmail', name: 'never signed in' })
      ).json()) as { id: string };
      // Refused (no credential yet): still a call of the log.
      const execute = async (): Promise<string> => {
        const res = await api('POST', '/api/v1/proxy/execute', {
          connection_id: connection.id,
          endpoint: 'get_profile',
        });
        expect(res.status).toBe(409);
        return res.headers.get('x-request-id') ?? '';
      };
      const first = await execute();
      const cli = { ...env, CONNECTR_URL: url, CONNECTR_API_KEY: key };

      let listed: Entry[] = [];
      for (let i = 0; i < 50 && !listed.some((e) => e.request_id === first); i++) {
        const result = await runBin(['serve', 'logs', '--json'], cli);
        expect(result.code, result.stderr).toBe(0);
        listed = lines(result.stdout);
        if (!listed.some((e) => e.request_id === first)) await new Promise((r) => setTimeout(r, 100));
      }
      expect(listed.find((e) => e.request_id === first)).toMatchObject({
        kind: 'execute',
        connector: 'gmail',
        error_code: 'needs_reauth',
      });
      // Piped, the output is JSON lines without --json too; the filters reach the server.
      const filtered = await runBin(['serve', 'logs', '--connector', 'gmail', '--since', '1h'], cli);
      expect(filtered.code, filtered.stderr).toBe(0);
      expect(lines(filtered.stdout).map((e) => e.request_id)).toContain(first);
      expect(filtered.stdout).not.toContain(key);
      const other = await runBin(['serve', 'logs', '--connector', 'dropbox', '--status', '5xx'], cli);
      expect(other.code, other.stderr).toBe(0);
      expect(lines(other.stdout)).toEqual([]);
      const hostile = await runBin(['serve', 'logs', '--status', "200' or 1=1"], cli);
      expect(hostile.code).toBe(1);
      expect(hostile.stderr).toContain('query.status');

      const follow = startBin(['serve', 'logs', '--follow', '--json', '--interval', '100'], cli, 60_000);
      cleanups.push(() => follow.child.kill('SIGKILL'));
      let out = '';
      follow.child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      // The first page (the call made before) is printed once it has started.
      for (let i = 0; i < 100 && !out.includes(first); i++) await new Promise((r) => setTimeout(r, 100));
      const second = await execute();
      const third = await execute();
      for (let i = 0; i < 100 && !out.includes(third); i++) await new Promise((r) => setTimeout(r, 100));
      // A few more polls: a call is never printed twice.
      await new Promise((r) => setTimeout(r, 600));
      follow.child.kill('SIGINT');
      const ended = await follow.done;
      expect(ended.code, ended.stderr).toBe(0);
      const ids = lines(out).map((e) => e.request_id);
      expect(ids.filter((id) => id === first)).toHaveLength(1);
      expect(ids.filter((id) => id === second)).toHaveLength(1);
      expect(ids.indexOf(second)).toBeLessThan(ids.indexOf(third));

      serve.child.kill('SIGTERM');
      expect((await serve.done).code).toBe(0);
    });
  });
}

describe('connectr serve logs without a server', () => {
  it('says no server answers at the address (exit 5), and refuses a bad --since (exit 2)', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    const home = tempHome();
    cleanups.push(home.cleanup);
    const env = { ...home.env, CONNECTR_URL: `http://127.0.0.1:${port}`, CONNECTR_API_KEY: 'cnr_x_y' };
    const none = await runBin(['serve', 'logs'], env);
    expect(none.code).toBe(5);
    expect(none.stderr).toContain(`cannot reach the connectr server at http://127.0.0.1:${port}`);
    expect(none.stderr).toContain('connectr serve');
    const bad = await runBin(['serve', 'logs', '--since', 'yesterday'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since');
    const noKey = await runBin(['serve', 'logs'], { ...home.env, CONNECTR_URL: 'http://127.0.0.1:1' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('CONNECTR_API_KEY');
  });
});
