import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import type { ProcessResult, RunningBin } from '../helpers/bin.js';
import { useGmailSignIn } from '../helpers/gmail-sign-in.js';
import { runCli } from '../helpers/io.js';
import { tempHome } from '../helpers/home.js';
import { seedPglite } from '../helpers/server-store.js';
import { FILE_STORE } from '../helpers/stores.js';
import type { ConnectionJson } from '../../src/server/routes/connections/shape.js';

/**
 * `connectr connections push`, end to end: a REAL `connectr serve` child process (PGlite in a
 * temp dir, keys made with `connectr serve keys create`), a local Gmail account signed in
 * through a real authorization server and the Gmail emulator, then the push; the daemon's
 * GET /connections/{id}/token shows the very token the CLI holds. Hostile cases: a wrong
 * key, an unreachable daemon, unknown connectors (locally and on the daemon), no sign-in,
 * and a token set the daemon refuses, which leaves no connection behind.
 */

const STARTED = /connectr serve: listening on (http:\/\/127\.0\.0\.1:\d+)/;

describe('connectr connections push', () => {
  const world = useGmailSignIn();
  const daemonHome = tempHome();
  seedPglite(daemonHome.dir);
  const daemonEnv = { ...daemonHome.env, ...FILE_STORE.env };
  let daemon: RunningBin | undefined;
  let url = '';
  const keys = { push: '', reader: '' };
  let env: Record<string, string>;
  /** Every output of a push, to search for secrets at the end. */
  const outputs: string[] = [];

  beforeAll(async () => {
    const create = async (name: string, extra: string[]): Promise<string> => {
      const r = await runBin(['--json', 'serve', 'keys', 'create', '--name', name, ...extra], daemonEnv, {
        timeoutMs: 60_000,
      });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { key: string }).key;
    };
    keys.push = await create('push', []);
    keys.reader = await create('reader', ['--allow-token']);
    daemon = startBin(['serve', '--port', '0', '--log-level', 'warn'], daemonEnv, 240_000);
    [, url = ''] = await daemon.waitForStderr(STARTED, 60_000);
  }, 120_000);

  afterAll(async () => {
    if (daemon) {
      daemon.child.kill('SIGTERM');
      await daemon.done;
    }
    daemonHome.cleanup();
  });

  beforeEach(() => {
    env = world.env('follow', { ...FILE_STORE.env, CONNECTR_URL: url, CONNECTR_API_KEY: keys.push });
  });

  async function api(
    path: string,
    key = keys.push,
    method = 'GET',
  ): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: await res.json() };
  }
  const connections = async (): Promise<ConnectionJson[]> =>
    ((await api('/api/v1/connections?limit=100')).body as { connections: ConnectionJson[] }).connections;

  async function signIn(extraArgs: string[] = [], extraEnv: Record<string, string> = {}): Promise<void> {
    const r = await runBin(['auth', 'gmail', ...extraArgs], { ...env, ...extraEnv });
    expect(r.code, r.stderr).toBe(0);
  }
  async function push(args: string[], extraEnv: Record<string, string> = {}): Promise<ProcessResult> {
    const r = await runBin(['connections', 'push', ...args], { ...env, ...extraEnv }, { timeoutMs: 30_000 });
    outputs.push(r.stdout, r.stderr);
    return r;
  }
  async function localToken(): Promise<string> {
    const r = await runBin(['token', 'gmail'], env);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  }
  /** What the next token answer of the authorization server says, changed by `change`. */
  function nextTokenResponse(change: (body: Record<string, unknown>) => void): void {
    world.auth.server.service.once('beforeResponse', (response: { body: Record<string, unknown> }) => {
      change(response.body);
    });
  }

  it('pushes the signed-in account: a new active connection whose token is the one the CLI holds', async () => {
    await signIn();
    const r = await push(['gmail', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const pushed = JSON.parse(r.stdout) as ConnectionJson;
    expect(pushed).toMatchObject({
      id: expect.stringMatching(/^conn_/) as string,
      connector_type: 'gmail',
      name: 'default',
      user_id: 'ann@example.com',
      status: 'active',
      account_identity: 'ann@example.com',
      // What the authorization server granted (oauth2-mock-server says "dummy").
      scopes: ['dummy'],
    });
    const token = await api(`/api/v1/connections/${pushed.id}/token`, keys.reader);
    expect(token.status).toBe(200);
    const local = await localToken();
    expect(local.length).toBeGreaterThan(20);
    expect(token.body).toMatchObject({ access_token: local, token_type: 'Bearer' });
    // The expiry went along: about an hour from now, as the sign-in said.
    const expiresAt = Date.parse((token.body as { expires_at: string }).expires_at);
    expect(expiresAt).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(expiresAt).toBeLessThan(Date.now() + 61 * 60_000);
    // The tokens and the key never appear in what push printed.
    expect(`${r.stdout}${r.stderr}`).not.toContain(local);
  });

  it('takes --name, --user-id, --account and --with-app; the key from --api-key', async () => {
    await signIn(['--account', 'work']);
    const r = await push(
      [
        'gmail',
        '--account',
        'work',
        '--name',
        'Work mail',
        '--user-id',
        'user-42',
        '--with-app',
        '--api-key',
        keys.push,
        '--server',
        `${url}/`,
      ],
      { CONNECTR_API_KEY: '', CONNECTR_URL: '' },
    );
    expect(r.code, r.stderr).toBe(0);
    const pushed = JSON.parse(r.stdout) as ConnectionJson;
    expect(pushed).toMatchObject({ name: 'Work mail', user_id: 'user-42', status: 'active' });
    const apps = (await api('/api/v1/oauth-apps')).body as { oauth_apps: Record<string, unknown>[] };
    expect(apps.oauth_apps).toEqual([
      expect.objectContaining({
        connector: 'gmail',
        client_id: 'connectr-test-client',
        has_client_secret: true,
      }),
    ]);
  });

  it('refreshes the local token first when it is about to expire, and pushes the new one', async () => {
    nextTokenResponse((body) => (body.expires_in = 30));
    await signIn();
    const before = world.auth.tokenRequests.length;
    const r = await push(['gmail', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(world.auth.tokenRequests.slice(before).map((t) => t.grant_type)).toEqual(['refresh_token']);
    const pushed = JSON.parse(r.stdout) as ConnectionJson;
    const token = await api(`/api/v1/connections/${pushed.id}/token`, keys.reader);
    expect((token.body as { access_token: string }).access_token).toBe(await localToken());
    expect(Date.parse((token.body as { expires_at: string }).expires_at)).toBeGreaterThan(
      Date.now() + 50 * 60_000,
    );
  });

  it('a wrong API key: exit 3 saying the key was refused, the key not printed, nothing created', async () => {
    await signIn();
    const before = await connections();
    const wrong = 'ck_wrong_0123456789abcdefghijklmnop';
    const r = await push(['gmail'], { CONNECTR_API_KEY: wrong });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('refused the API key');
    expect(r.stderr).toMatch(/hint: .*CONNECTR_API_KEY/);
    expect(`${r.stdout}${r.stderr}`).not.toContain(wrong);
    expect(await connections()).toEqual(before);
  });

  it('an unreachable daemon: exit 5 naming its URL', async () => {
    await signIn();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    const r = await push(['gmail'], { CONNECTR_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`cannot reach the connectr server at http://127.0.0.1:${port}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('no server or key, or a bad server address: usage errors (exit 2) before anything is read', async () => {
    const noUrl = await push(['gmail'], { CONNECTR_URL: '' });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('CONNECTR_URL');
    const noKey = await push(['gmail'], { CONNECTR_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('CONNECTR_API_KEY');
    const bad = await push(['gmail'], { CONNECTR_URL: 'ftp://example.com' });
    expect(bad.code).toBe(2);
    const creds = await push(['gmail'], { CONNECTR_URL: `http://user:pw@127.0.0.1:1` });
    expect(creds.code).toBe(2);
    expect(creds.stderr).not.toContain('pw@');
    const garbled = await push(['gmail'], { CONNECTR_URL: 'http://user:hunter2 secret@[' });
    expect(garbled.code).toBe(2);
    expect(garbled.stderr).toContain('CONNECTR_URL');
    expect(garbled.stderr).not.toContain('hunter2');
  });

  it('not signed in locally: exit 3 with `connectr auth gmail` as the hint, nothing created', async () => {
    const before = await connections();
    const r = await push(['gmail']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: not signed in to Gmail: there is no account to push');
    expect(r.stderr).toContain('hint: sign in first: connectr auth gmail');
    // An environment token is not what push moves: it is not suggested.
    expect(r.stderr).not.toContain('CONNECTR_GMAIL_TOKEN');
    expect(await connections()).toEqual(before);
  });

  it('a token in CONNECTR_GMAIL_TOKEN and no account: exit 3, saying why that token is not pushed', async () => {
    const before = await connections();
    const r = await push(['gmail'], { CONNECTR_GMAIL_TOKEN: 'env-token-not-pushed' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: not signed in to Gmail: there is no account to push');
    expect(r.stderr).toMatch(
      /hint: sign in first: connectr auth gmail\. The token in \$CONNECTR_GMAIL_TOKEN is not pushed: .*refresh/,
    );
    expect(r.stderr).not.toContain('env-token-not-pushed');
    expect(await connections()).toEqual(before);
  });

  it('an unknown connector: locally exit 1 with the nearest name; one the daemon lacks: its 400 and hint, nothing created', async () => {
    const local = await push(['gmial']);
    expect(local.code).toBe(1);
    expect(local.stderr).toContain('gmail');
    // A connector only this CLI knows (a copy of Gmail's definition under another name).
    const dir = mkdtempSync(join(tmpdir(), 'connectr-push-'));
    try {
      writeFileSync(
        join(dir, 'mailx.yaml'),
        readFileSync(join(import.meta.dirname, '../../connectors/gmail.yaml'), 'utf8').replace(
          /^name: gmail$/m,
          'name: mailx',
        ),
      );
      const extra = {
        ...world.auth.envFor('mailx'),
        CONNECTR_CONNECTORS_DIR: dir,
        CONNECTR_MAILX_API_BASE_URL: world.gmail.url,
      };
      const r = await runBin(['auth', 'mailx'], { ...env, ...extra });
      expect(r.code, r.stderr).toBe(0);
      const before = await connections();
      const pushed = await push(['mailx'], extra);
      expect(pushed.code).toBe(1);
      expect(pushed.stderr).toContain('error: unknown connector "mailx"');
      expect(pushed.stderr).toContain('hint:');
      expect(pushed.stderr).toContain('GET /api/v1/connectors');
      expect(await connections()).toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a token set the daemon refuses: the connection it created is deleted again, and the error says so', async () => {
    // A scope no RFC 6749 scope token can be: the daemon's PUT /credentials answers 400.
    nextTokenResponse((body) => (body.scope = 'https://www.googleapis.com/auth/gmail.modify bad"scope'));
    await signIn();
    const before = await connections();
    const r = await push(['gmail']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: .*scope/);
    expect(r.stderr).toMatch(/connection conn_\w+, created for them, was deleted again/);
    expect(await connections()).toEqual(before);
  });

  it('on a terminal: a readable summary; and the push never loads the server (fastify, the database)', async () => {
    await signIn();
    const human = await runCli(['connections', 'push', 'gmail', '--name', 'Shown'], env, { tty: true });
    outputs.push(human.stdout, human.stderr);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr).toContain(`✓ Pushed gmail account "default" (ann@example.com) to ${url}.`);
    expect(human.stdout).toMatch(/^id: +conn_\w+$/m);
    expect(human.stdout).toMatch(/^name: +Shown$/m);
    expect(human.stdout).toMatch(/^status: +active$/m);
    expect(human.stderr).toContain('--with-app');

    const probe = join(world.home.dir, 'probe.cjs');
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
    const r = await push(['gmail', '--name', 'probed'], { NODE_OPTIONS: `--require ${probe}` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('SERVER-MODULE');
    // The probe works: opening the server's database from the CLI does load it.
    const keysList = await runBin(
      ['serve', 'keys', 'list'],
      { ...env, NODE_OPTIONS: `--require ${probe}` },
      { timeoutMs: 60_000 },
    );
    expect(keysList.stderr).toContain('SERVER-MODULE');
  });

  it('--with-app refuses a local app other than the one the account was signed in with', async () => {
    await signIn();
    const before = await connections();
    const appsBefore = (await api('/api/v1/oauth-apps')).body;
    const r = await push(['gmail', '--with-app'], { GMAIL_CLIENT_ID: 'another-client' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('was signed in with another OAuth app (client id connectr-test-client)');
    expect(await connections()).toEqual(before);
    expect((await api('/api/v1/oauth-apps')).body).toEqual(appsBefore);
  });

  /**
   * A proxy in front of the daemon that forwards everything, except that the request `hold`
   * picks is kept: before it reaches the daemon ('request'), or after the daemon answered it,
   * until `release` ('answer').
   */
  async function holdingProxy(
    hold: (method: string, path: string) => 'request' | 'answer' | undefined,
  ): Promise<{ url: string; held: Promise<void>; release(): void; close(): Promise<void> }> {
    let heldResolve: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (heldResolve = resolve));
    let releaseAnswer: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (releaseAnswer = resolve));
    const server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const what = hold(req.method ?? '', req.url ?? '');
          if (what === 'request') {
            heldResolve();
            return;
          }
          const upstream = await fetch(`${url}${req.url ?? ''}`, {
            method: req.method ?? 'GET',
            headers: Object.fromEntries(
              Object.entries(req.headers).filter(
                (e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'host',
              ),
            ),
            ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
          });
          const body = Buffer.from(await upstream.arrayBuffer());
          if (what === 'answer') {
            heldResolve();
            await released;
          }
          res
            .writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? '' })
            .end(body);
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${String(port)}`,
      held,
      release: releaseAnswer,
      async close() {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  async function interruptedPush(hold: 'request' | 'answer'): Promise<ProcessResult> {
    await signIn();
    const before = await connections();
    const proxy = await holdingProxy((method, path) => {
      if (hold === 'request' && method === 'PUT' && path.endsWith('/credentials')) return 'request';
      if (hold === 'answer' && method === 'POST' && path === '/api/v1/connections') return 'answer';
      return undefined;
    });
    try {
      const running = startBin(['connections', 'push', 'gmail'], { ...env, CONNECTR_URL: proxy.url }, 30_000);
      await proxy.held;
      running.child.kill('SIGINT');
      // An answer on its way still arrives after Ctrl-C: the push must read it to undo the create.
      setTimeout(() => proxy.release(), 300);
      const r = await running.done;
      outputs.push(r.stdout, r.stderr);
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toContain('error: interrupted');
      expect(r.stderr).toMatch(/connection conn_\w+, created for them, was deleted again/);
      expect(await connections()).toEqual(before);
      return r;
    } finally {
      proxy.release();
      await proxy.close();
    }
  }

  it('Ctrl-C while the tokens are being stored: the connection just created is deleted again', async () => {
    await interruptedPush('request');
  });

  it('Ctrl-C while the create is answered: the answer is still read, and the connection deleted', async () => {
    await interruptedPush('answer');
  });

  it('never printed a token, a refresh token or an API key', () => {
    const everything = outputs.join('\n');
    expect(outputs.length).toBeGreaterThan(10);
    expect(everything).not.toContain(keys.push);
    expect(everything).not.toContain(keys.reader);
    expect(everything).not.toMatch(/refresh_token|access_token|connectr-test-secret/);
  });
});
