import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import type { RunningBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { seedPglite } from '../helpers/server-store.js';

/**
 * `connectr serve keys` while a real `connectr serve` holds the PGlite database: the commands go
 * to it over its control socket (0600, in the 0700 data directory). Run on PGlite only: with
 * DATABASE_URL the commands open PostgreSQL themselves (test/cli/serve-keys.test.ts).
 */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const STARTED = /connectr serve: listening on (http:\/\/127\.0\.0\.1:\d+) \(store: pglite/;

function home(dir?: string): { env: Record<string, string>; socket: string } {
  const h = tempHome();
  cleanups.push(h.cleanup);
  let env = h.env;
  if (dir !== undefined) {
    mkdirSync(join(h.dir, dir), { recursive: true });
    env = { ...env, CONNECTR_HOME: join(h.dir, dir) };
  }
  seedPglite(env.CONNECTR_HOME ?? '');
  // A fixed key: no keychain is needed, and the cache holds a key for a long while, so that a
  // revocation seen at once is the channel's doing, not the cache's age.
  env = {
    ...env,
    CONNECTR_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    CONNECTR_CACHE_MS: '600000',
  };
  delete env.DATABASE_URL;
  return { env, socket: join(env.CONNECTR_HOME ?? '', 'server', 'control.sock') };
}

async function start(env: Record<string, string>): Promise<{ running: RunningBin; url: string }> {
  const running = startBin(['serve', '--port', '0', '--log-level', 'warn'], env, 120_000);
  cleanups.push(() => running.child.kill('SIGKILL'));
  const [, url = ''] = await running.waitForStderr(STARTED, 90_000);
  return { running, url };
}

function keys(args: string[], env: Record<string, string>) {
  return runBin(['serve', 'keys', ...args], env, { timeoutMs: 60_000 });
}

async function status(url: string, key: string): Promise<number> {
  return (await fetch(`${url}/api/v1/connectors`, { headers: { authorization: `Bearer ${key}` } })).status;
}

/** A raw request on the control socket. */
function raw(
  socketPath: string,
  options: {
    method?: string;
    path?: string;
    headers?: Record<string, string | number>;
    body?: string | Buffer;
  },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method: options.method ?? 'POST',
        path: options.path ?? '/connectr-control/v1/keys',
        headers: options.headers ?? { 'content-type': 'application/json' },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('no answer')));
    req.end(options.body);
  });
}

describe.skipIf(process.platform === 'win32')(
  'connectr serve keys while connectr serve runs on PGlite',
  () => {
    it('create, list and revoke go through the running server; a revoked key is refused at once', async () => {
      const { env, socket } = home();
      const { running, url } = await start(env);

      // Only this user may reach the channel.
      const stats = lstatSync(socket);
      expect(stats.isSocket()).toBe(true);
      expect(stats.mode & 0o777).toBe(0o600);
      expect(statSync(join(socket, '..')).mode & 0o777).toBe(0o700);

      const created = await keys(['create', '--name', 'live'], env);
      expect(created.stderr).toContain('Created project default');
      expect(created.code).toBe(0);
      const key = JSON.parse(created.stdout) as { id: string; prefix: string; key: string; project: string };
      expect(key.project).toBe('default');
      expect(await status(url, key.key)).toBe(200);

      const listed = await keys(['list'], env);
      expect(listed.code).toBe(0);
      expect(listed.stdout).not.toContain(key.key);
      expect(JSON.parse(listed.stdout)).toEqual([
        expect.objectContaining({ id: key.id, prefix: key.prefix, name: 'live', revoked_at: null }),
      ]);
      const none = await keys(['list', '--project', 'nope'], env);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('no project "nope"');
      expect(none.stderr).toContain('hint:');

      const revoked = await keys(['revoke', key.prefix], env);
      expect(revoked.code).toBe(0);
      expect(JSON.parse(revoked.stdout)).toMatchObject({ id: key.id, already_revoked: false });
      // The server had the key in its cache (for ten minutes here): revoking dropped it.
      expect(await status(url, key.key)).toBe(401);

      // rotate-key cannot share the database: it says so, and what to do.
      const rotate = await runBin(['serve', 'rotate-key'], env, { timeoutMs: 60_000 });
      expect(rotate.code).toBe(5);
      expect(rotate.stderr).toContain('while `connectr serve`');
      expect(rotate.stderr).toMatch(/hint: stop the server, run `connectr serve rotate-key`/);

      running.child.kill('SIGTERM');
      expect((await running.done).code).toBe(0);
      expect(existsSync(socket)).toBe(false);
      // Stopped: the commands open the database themselves, as before.
      const after = await keys(['list'], env);
      expect(after.code).toBe(0);
      expect((JSON.parse(after.stdout) as { revoked_at: string | null }[])[0]?.revoked_at).not.toBeNull();
    }, 240_000);

    it('a metrics key made through the running server reads /metrics and nothing else; bad scopes are refused', async () => {
      const { env, socket } = home();
      const { url } = await start(env);
      const created = await keys(['create', '--name', 'prometheus', '--scope', 'metrics'], env);
      expect(created.code).toBe(0);
      const scraper = JSON.parse(created.stdout) as { key: string; scope: string };
      expect(scraper.scope).toBe('metrics');
      const project = JSON.parse((await keys(['create', '--name', 'app'], env)).stdout) as { key: string };

      const metrics = (key: string) =>
        fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
      const read = await metrics(scraper.key);
      expect(read.status).toBe(200);
      expect(await read.text()).toContain('connectr_http_requests_total');
      const refused = await metrics(project.key);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { hint: string } }).error.hint).toContain('--scope metrics');
      expect(await status(url, scraper.key)).toBe(403);
      expect(await status(url, project.key)).toBe(200);

      const listed = JSON.parse((await keys(['list'], env)).stdout) as { name: string; scope: string }[];
      expect(Object.fromEntries(listed.map((k) => [k.name, k.scope]))).toEqual({
        prometheus: 'metrics',
        app: 'project',
      });
      // Hostile scopes: refused by the command line, by the key rules, and by the channel itself.
      const unknown = await keys(['create', '--name', 'x', '--scope', 'admin'], env);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('metrics');
      const withToken = await keys(['create', '--name', 'x', '--scope', 'metrics', '--allow-token'], env);
      expect(withToken.code).toBe(1);
      expect(withToken.stderr).toContain('--allow-token');
      const direct = await raw(socket, { body: JSON.stringify({ op: 'create', name: 'x', scope: 'root' }) });
      expect(direct.status).toBe(400);
      expect(JSON.parse((await keys(['list'], env)).stdout)).toHaveLength(2);
    }, 120_000);

    it('refuses what is no key request on the socket, bounded, and keeps serving', async () => {
      const { env, socket } = home();
      await start(env);
      const huge = await raw(socket, {
        headers: { 'content-type': 'application/json', 'content-length': 50 * 1024 * 1024 },
        body: Buffer.alloc(1024, 'x'),
      });
      expect(huge.status).toBe(413);
      const chunked = await raw(socket, {
        body: JSON.stringify({ op: 'list', project: 'x'.repeat(200_000) }),
      });
      expect(chunked.status).toBe(413);
      const notJson = await raw(socket, { body: '{"op":' });
      expect(notJson.status).toBe(400);
      expect(JSON.parse(notJson.body)).toMatchObject({ error: { code: 'invalid_input' } });
      for (const body of [{ op: 'drop' }, { op: 'list', extra: 1 }, { op: 'create', name: 5 }, ['list']]) {
        const bad = await raw(socket, { body: JSON.stringify(body) });
        expect(bad.status, JSON.stringify(body)).toBe(400);
      }
      const badProject = await raw(socket, {
        body: JSON.stringify({ op: 'create', name: 'x', project: '../x' }),
      });
      expect(badProject.status).toBe(400);
      const refusal = JSON.parse(badProject.body) as { error: { code: string; hint?: string } };
      expect(refusal.error.code).toBe('invalid_input');
      expect(refusal.error.hint).toContain('--project');
      expect((await raw(socket, { body: '{}', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
      expect((await raw(socket, { method: 'GET' })).status).toBe(405);
      expect((await raw(socket, { path: '/connectr-control/v2/keys', body: '{}' })).status).toBe(404);
      // Nothing of the REST API is behind it.
      expect((await raw(socket, { method: 'GET', path: '/api/v1/connectors' })).status).toBe(404);
      const hello = await raw(socket, { method: 'GET', path: '/connectr-control/v1' });
      expect(JSON.parse(hello.body)).toMatchObject({ service: 'connectr-serve', protocol: 1 });
      // Still answering.
      expect((await keys(['list'], env)).code).toBe(0);

      // Another user cannot connect, even where the directories let them through: the
      // socket's own mode (0600) refuses them.
      if (process.getuid?.() === 0 && spawnSync('runuser', ['--help']).status === 0) {
        const home = env.CONNECTR_HOME ?? '';
        chmodSync(home, 0o711);
        chmodSync(join(home, 'server'), 0o711);
        const probe = `require('node:net').connect(${JSON.stringify(socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(1); })`;
        const other = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', probe], {
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(other.stdout.trim()).toBe('EACCES');
      }
    }, 240_000);

    it('a server killed mid-request: the command says so; its stale socket is no obstacle afterwards', async () => {
      const { env, socket } = home();
      const { running } = await start(env);
      // Frozen, the server's socket still accepts connections (the kernel's backlog): the
      // request is sent and waits; then the server dies without answering.
      running.child.kill('SIGSTOP');
      const pending = keys(['create', '--name', 'lost'], env);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      running.child.kill('SIGKILL');
      const died = await pending;
      expect(died.code).toBe(5);
      expect(died.stderr).toContain('stopped answering');
      expect(died.stderr).toMatch(/hint: .*keys list/);
      expect(died.stderr).not.toMatch(/\n\s+at /);
      await running.done;

      // Its socket is left behind, nobody listening: the command opens the database itself.
      expect(lstatSync(socket).isSocket()).toBe(true);
      const listed = await keys(['list'], env);
      expect(listed.code, listed.stderr).toBe(0);
      // A new server replaces the stale socket, and answers on it.
      await start(env);
      const created = await keys(['create', '--name', 'after'], env);
      expect(created.code, created.stderr).toBe(0);
    }, 240_000);

    it('refuses to start when the socket path is a symbolic link or a file, and never follows or removes it', async () => {
      const { env, socket } = home();
      mkdirSync(join(socket, '..'), { recursive: true, mode: 0o700 });
      const elsewhere = mkdtempSync(join(tmpdir(), 'connectr-target-'));
      cleanups.push(() => {
        rmSync(elsewhere, { recursive: true, force: true });
      });
      const target = join(elsewhere, 'precious');
      writeFileSync(target, 'keep me');
      symlinkSync(target, socket);
      const link = await runBin(['serve', '--port', '0'], env, { timeoutMs: 90_000 });
      expect(link.code).toBe(1);
      expect(link.stderr).toContain(`${socket} exists and is not a socket (a symbolic link)`);
      expect(link.stderr).toMatch(/hint: remove it/);
      expect(lstatSync(socket).isSymbolicLink()).toBe(true);
      expect(statSync(target).size).toBe(7);

      rmSync(socket);
      writeFileSync(socket, 'a file');
      const file = await runBin(['serve', '--port', '0'], env, { timeoutMs: 90_000 });
      expect(file.code).toBe(1);
      expect(file.stderr).toContain('(a file)');
      expect(lstatSync(socket).isFile()).toBe(true);
    }, 240_000);

    it('a data directory too long for a socket path: the server runs, and both it and the key commands say why', async () => {
      const { env, socket } = home('d'.repeat(110));
      expect(Buffer.byteLength(socket)).toBeGreaterThan(108);
      const { running } = await start(env);
      expect(
        await running.waitForStderr(
          /warning: `connectr serve keys` cannot reach this server while it runs: its socket path would be \d+ bytes long/,
        ),
      ).toBeTruthy();
      const listed = await keys(['list'], env);
      expect(listed.code).toBe(5);
      expect(listed.stderr).toContain('already in use by another connectr process');
      expect(listed.stderr).toMatch(
        /hint: the server cannot take key commands while it runs: its socket path would be/,
      );
      expect(listed.stderr).toContain('shorter path');
    }, 240_000);
  },
);
