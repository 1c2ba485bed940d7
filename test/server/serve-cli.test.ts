import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { seedPglite } from '../helpers/server-store.js';
import { isListening } from '../helpers/net.js';

/** The real binary: `connectr serve` on a free port, a request through a real socket, SIGTERM. */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function home(): Record<string, string> {
  const h = tempHome();
  cleanups.push(h.cleanup);
  seedPglite(h.dir);
  return h.env;
}

/** The start-up line is how a test (or a script) learns the port chosen by --port 0. */
const STARTED = /connectr serve: listening on (http:\/\/127\.0\.0\.1:(\d+)) \(store: (\w+), docs: (\S+)\)/;

describe('connectr serve', () => {
  it('starts on a free port, answers over HTTP, and exits 0 on SIGTERM with its port closed', async () => {
    const running = startBin(['serve', '--port', '0'], home());
    cleanups.push(() => running.child.kill('SIGKILL'));
    const [, url = '', port = '', backend, docs] = await running.waitForStderr(STARTED);
    expect(backend).toMatch(/^(pglite|postgres)$/);
    expect(docs).toBe(`${url}/docs`);

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-request-id')).toBeTruthy();
    const connectors = await fetch(`${url}/api/v1/connectors`, {
      headers: { authorization: 'Bearer not-a-key' },
    });
    expect(connectors.status).toBe(401);
    expect(((await connectors.json()) as { error: { code: string } }).error.code).toBe('auth_required');
    expect((await fetch(docs ?? '')).status).toBe(200);
    // Many requests at once: their log lines are written in the background, none is lost.
    const many = await Promise.all(
      Array.from({ length: 200 }, () => fetch(`${url}/health?n=1`).then((r) => r.status)),
    );
    expect(many.every((status) => status === 200)).toBe(true);

    running.child.kill('SIGTERM');
    const result = await running.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('connectr serve: stopped');
    // Nothing of Node's or a library's own warnings (a deprecated option) reaches the user.
    expect(result.stderr).not.toMatch(/Warning|FSTDEP/);
    // Logs are JSON lines on stderr and never hold the key that was sent.
    expect(result.stderr).toContain('"reqId"');
    expect(result.stderr).not.toContain('not-a-key');
    // One line per request, once answered.
    const completed = result.stderr.split('\n').filter((line) => line.includes('"msg":"request completed"'));
    expect(completed.filter((line) => line.includes('"url":"/health?n=1"'))).toHaveLength(200);
    expect(completed.filter((line) => line.includes('"url":"/health"'))).toHaveLength(1);
    expect(await isListening('127.0.0.1', Number(port))).toBe(false);
  });

  it('Ctrl-C (SIGINT) stops it the same way: exit 0', async () => {
    const running = startBin(['serve', '--port', '0', '--log-level', 'silent'], home());
    cleanups.push(() => running.child.kill('SIGKILL'));
    const [, url = ''] = await running.waitForStderr(STARTED);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    running.child.kill('SIGINT');
    const result = await running.done;
    expect(result.code).toBe(0);
    // --log-level silent: only the start-up and stop lines.
    expect(result.stderr).not.toContain('"reqId"');
    expect(result.stderr).toContain('connectr serve: stopped');
  });

  it('a port in use is a clear error naming the port and the fix (exit 5)', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => blocker.close());
    const { port } = blocker.address() as AddressInfo;
    const result = await runBin(['serve', '--port', String(port)], home());
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(result.stderr).toMatch(/hint: .*--port/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('without a keychain or a vault passphrase, the start error names CONNECTR_ENCRYPTION_KEY, which suffices', async () => {
    const env = home();
    delete env.DBUS_SESSION_BUS_ADDRESS;
    const refused = await runBin(['serve', '--port', '0'], env, { timeoutMs: 90_000 });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('needs its passphrase');
    expect(refused.stderr).toMatch(/hint: .*CONNECTR_ENCRYPTION_KEY/);
    // And it does suffice: the same home starts with it.
    const running = startBin(['serve', '--port', '0'], {
      ...env,
      CONNECTR_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    cleanups.push(() => running.child.kill('SIGKILL'));
    await running.waitForStderr(STARTED);
    running.child.kill('SIGTERM');
    expect((await running.done).code).toBe(0);
  });

  it('refuses bad flags before opening anything: a wildcard CORS origin, a port out of range, an unknown log level, a sign-in cap that is not a whole number from 1', async () => {
    const env = home();
    const cors = await runBin(['serve', '--port', '0', '--cors-origin', '*'], env);
    expect(cors.code).toBe(2);
    expect(cors.stderr).toContain('wildcards are not allowed');
    const port = await runBin(['serve', '--port', '70000'], env);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('expected a port from 0 to 65535');
    const level = await runBin(['serve', '--log-level', 'loud'], env);
    expect(level.code).toBe(2);
    const publicUrl = await runBin(['serve', '--port', '0', '--public-url', 'javascript:alert(1)'], env);
    expect(publicUrl.code).toBe(2);
    expect(publicUrl.stderr).toContain('--public-url');
    for (const count of ['0', '-5', '1e3', 'many', '99999999999']) {
      const signIns = await runBin(['serve', '--port', '0', '--max-sign-ins', count], env);
      expect(signIns.code, count).toBe(2);
      expect(signIns.stderr).toContain('expected a number of sign-ins from 1 to 1000000');
    }
    for (const seconds of ['0', '-1', '2.5', 'soon', '3601']) {
      const timeout = await runBin(['serve', '--port', '0', '--request-timeout', seconds], env);
      expect(timeout.code, seconds).toBe(2);
      expect(timeout.stderr).toContain('expected seconds from 1 to 3600');
    }
  });

  it('lists its admin commands in --help', async () => {
    const result = await runBin(['serve', '--help'], home());
    expect(result.code).toBe(0);
    for (const word of [
      '--port',
      '--host',
      '--cors-origin',
      '--public-url',
      '--shutdown-timeout',
      'keys',
      'rotate-key',
      'console',
    ])
      expect(result.stdout).toContain(word);
    const keys = await runBin(['serve', 'keys', '--help'], home());
    for (const word of ['create', 'list', 'revoke']) expect(keys.stdout).toContain(word);
  });

  it('other commands never load the server: fastify, the database drivers, swagger', async () => {
    const env = home();
    const probe = join(env.CONNECTR_HOME ?? '', 'probe.cjs');
    // Reports every package the process requires whose name is one of the server's.
    writeFileSync(
      probe,
      `const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (/^(fastify|fastify-type-provider-zod|@fastify\\/|pg$|@electric-sql\\/pglite|drizzle-orm)/.test(request))
    require('node:fs').writeSync(2, 'SERVER-MODULE ' + request + '\\n');
  return load.call(this, request, ...rest);
};`,
    );
    const withProbe = { ...env, NODE_OPTIONS: `--require ${probe}` };
    for (const args of [
      ['connectors', 'list'],
      ['call', 'gmail', 'get_profile', '--dry-run'],
    ]) {
      const result = await runBin(args, withProbe);
      expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(0);
      expect(result.stderr).not.toContain('SERVER-MODULE');
    }
    // The probe works: serve --help does not load it either, but a started server does.
    const running = startBin(['serve', '--port', '0'], withProbe);
    cleanups.push(() => running.child.kill('SIGKILL'));
    await running.waitForStderr(/SERVER-MODULE fastify/);
    // Stopped once it has started: a signal while the database opens may outlast the grace
    // period a command gets before its server is up (exit 143), which is not what this tests.
    await running.waitForStderr(STARTED);
    running.child.kill('SIGTERM');
    expect((await running.done).code).toBe(0);
  });
});
