import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import { useGmailSignIn } from '../helpers/gmail-sign-in.js';
import { ConnectrError } from '../../src/core/errors.js';
import { run } from '../../src/cli/main.js';
import { runCli, testIO } from '../helpers/io.js';
import { isListening } from '../helpers/net.js';
import { browse } from '../helpers/oidc-server.js';
import { FILE_STORE, STORE_VARIANTS } from '../helpers/stores.js';

/**
 * `connectr auth gmail` end to end: the real binary in a child process, a strict real
 * authorization server (oidc-provider: PKCE required, redirect URI checked), a scripted browser
 * process, each secret store (the real keychain where there is one, the encrypted file
 * everywhere), and the Gmail emulator for the identity call.
 */

interface LoggedPage {
  url?: string;
  status?: number;
  body?: string;
  started?: string;
}

/** The sign-in address connectr printed (it is printed once, whatever the browser does). */
const SIGN_IN_URL = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/;

/** The loopback redirect URI in the sign-in address connectr printed. */
function redirectUriIn(stderr: string): URL {
  const printed = SIGN_IN_URL.exec(stderr)?.[1] ?? '';
  return new URL(new URL(printed).searchParams.get('redirect_uri') ?? '');
}

const portIsClosed = async (port: number): Promise<boolean> => !(await isListening('127.0.0.1', port));

describe('connectr auth (browser sign-in)', () => {
  const world = useGmailSignIn({ server: 'oidc' });
  const env = (mode: string, extra: Record<string, string> = {}): Record<string, string> =>
    world.env(mode, { ...FILE_STORE.env, ...extra });

  function pages(): LoggedPage[] {
    try {
      return readFileSync(join(world.home.dir, 'browser.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as LoggedPage);
    } catch {
      return [];
    }
  }

  /**
   * The pages the scripted browser got from the loopback callback, once there are `count`: the
   * browser is a process of its own and may still be writing when connectr has already exited.
   * Only lines for the callback address count (never the provider's redirects before it).
   */
  async function callbackPages(count = 1): Promise<LoggedPage[]> {
    const atCallback = (): LoggedPage[] =>
      pages().filter((p) => p.url !== undefined && new URL(p.url).pathname === '/callback');
    await expect.poll(() => atCallback().length, { timeout: 5000 }).toBeGreaterThanOrEqual(count);
    return atCallback();
  }

  function allFilesUnder(dir: string): string[] {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((f) => join(dir, f))
      .filter((f) => statSync(f).isFile());
  }

  describe.each(STORE_VARIANTS)('with the $name store', (store) => {
    it.skipIf(!store.available)(
      'signs in, stores the tokens there and metadata in the lowdb file',
      async () => {
        const r = await runBin(['auth', 'gmail'], world.env('follow', store.env));
        expect(r.stderr).toContain('Opening your browser to sign in to Gmail');
        expect(r.code, r.stderr).toBe(0);
        const record = JSON.parse(r.stdout) as Record<string, unknown>;
        expect(record).toMatchObject({
          connector: 'gmail',
          account: 'default',
          auth_type: 'oauth2',
          grant: 'authorization_code',
          identity: 'ann@example.com',
          store: store.name,
          client_id: 'connectr-test-client',
        });

        // What the server received: PKCE (S256) and state on the authorization request, the
        // verifier and the very same redirect URI on the token request.
        const [authorize] = world.auth.authorizeRequests;
        expect(world.auth.authorizeRequests).toHaveLength(1);
        expect(authorize?.code_challenge_method).toBe('S256');
        expect(authorize?.state).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(authorize?.access_type).toBe('offline');
        expect(new URL(authorize?.redirect_uri ?? '').hostname).toBe('127.0.0.1');
        expect(world.auth.tokenRequests).toHaveLength(1);
        const [exchange] = world.auth.tokenRequests;
        expect(exchange).toMatchObject({
          grant_type: 'authorization_code',
          client_id: 'connectr-test-client',
        });
        expect(exchange?.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(exchange?.redirect_uri).toBe(authorize?.redirect_uri);

        // The browser was shown the success page.
        const [callback] = await callbackPages();
        expect(callback?.status).toBe(200);
        expect(callback?.body).toContain('Signed in to Gmail');

        // The tokens are in the chosen store, namespaced by this CONNECTR_HOME.
        const stored = JSON.parse(
          (await store.secret(world.home.dir, 'connectr:gmail', 'default')) ?? '{}',
        ) as Record<string, string>;
        expect(stored.access_token?.length).toBeGreaterThan(20);
        expect(stored.refresh_token?.length).toBeGreaterThan(20);

        // Metadata is in the lowdb file; no secret is in plaintext in any file under CONNECTR_HOME.
        const metadata = JSON.parse(readFileSync(join(world.home.dir, 'accounts.json'), 'utf8')) as {
          accounts: Record<string, unknown>[];
        };
        expect(metadata.accounts[0]).toMatchObject({
          connector: 'gmail',
          account: 'default',
          store: store.name,
        });
        for (const file of allFilesUnder(world.home.dir)) {
          const content = readFileSync(file, 'utf8');
          expect(content, file).not.toContain(stored.access_token ?? '<none>');
          expect(content, file).not.toContain(stored.refresh_token ?? '<none>');
          expect(content, file).not.toContain('connectr-test-secret');
        }
        // Private files and directories.
        expect(statSync(join(world.home.dir, 'accounts.json')).mode & 0o777).toBe(0o600);
        expect(statSync(join(world.home.dir, 'locks')).mode & 0o777).toBe(0o700);
      },
    );
  });

  it('ignores callbacks without the right state, and the real response still signs in', async () => {
    const running = startBin(['auth', 'gmail'], env('idle'));
    const [printed = ''] = await running.waitForStderr(SIGN_IN_URL);
    const redirect = new URL(new URL(printed).searchParams.get('redirect_uri') ?? '');
    // A hostile local page or process calls the callback: a forged state with its own code, no
    // state, and provider errors meant to abort the sign-in. Each is answered 400 and ignored.
    const hostile = [
      '?code=attacker-code&state=forged',
      '?code=attacker-code',
      '?error=access_denied&error_description=forged&state=forged',
      '?error=access_denied',
      '',
    ];
    for (const query of hostile) {
      const response = await fetch(`${redirect.href}${query}`);
      expect(response.status, query).toBe(400);
      const body = await response.text();
      expect(body, query).toContain('This response was ignored');
      expect(body, query).toContain('connectr is still waiting');
    }
    expect((await fetch(new URL('/favicon.ico', redirect))).status).toBe(404);
    // Still waiting: the process runs, the port listens, nothing was exchanged.
    expect(running.child.exitCode).toBeNull();
    expect(await isListening('127.0.0.1', Number(redirect.port))).toBe(true);
    expect(world.auth.tokenRequests).toHaveLength(0);

    // Now the person signs in for real.
    const { stoppedAt } = await browse(printed, 'ann@example.com', redirect.href);
    const real = await fetch(stoppedAt);
    expect(real.status).toBe(200);
    expect(await real.text()).toContain('Signed in to Gmail');
    const r = await running.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('error:');
    // The terminal says so, once, whatever the number of such requests.
    expect(r.stderr.split('was ignored; still waiting')).toHaveLength(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ account: 'default', identity: 'ann@example.com' });
    expect(world.auth.tokenRequests).toHaveLength(1);
    expect(world.auth.tokenRequests[0]?.code).toBe(new URL(stoppedAt).searchParams.get('code'));
    expect(await portIsClosed(Number(redirect.port))).toBe(true);
  });

  it('answers 404 on any other path and keeps waiting for the callback', async () => {
    const r = await runBin(['auth', 'gmail'], env('wrong-path'));
    expect(r.code, r.stderr).toBe(0);
    expect((await callbackPages()).map((p) => p.status)).toEqual([200]);
    const seen = pages().filter((p) => p.url);
    expect(seen[0]).toMatchObject({ status: 404, body: 'Not found\n' });
  });

  it('reports access_denied that carries the right state with exit code 3', async () => {
    const r = await runBin(['auth', 'gmail'], env('deny'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: access was denied at the sign-in page: The user denied access');
    expect(r.stderr).toContain('hint: run the login again and approve the request');
    const [callback] = await callbackPages();
    expect(callback?.status).toBe(400);
    expect(callback?.body).toContain('Sign-in to Gmail failed');
    expect(world.auth.tokenRequests).toHaveLength(0);
  });

  it('gives up after --timeout with exit code 5', async () => {
    const started = Date.now();
    const r = await runBin(['auth', 'gmail', '--timeout', '1s'], env('idle'));
    expect(r.code).toBe(5);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.stderr).toContain('error: no sign-in response within 1 s');
  });

  it('stops waiting when interrupted with Ctrl-C', async () => {
    const running = startBin(['auth', 'gmail'], env('idle'));
    await running.waitForStderr(SIGN_IN_URL);
    running.child.kill('SIGINT');
    const r = await running.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('error: interrupted');
  });

  it('--no-browser: accepts the redirected address pasted back', async () => {
    const running = startBin(['auth', 'gmail', '--no-browser'], env('idle'));
    const [printed = ''] = await running.waitForStderr(SIGN_IN_URL);
    // The person opens the address elsewhere; the provider redirects to a loopback address that
    // browser cannot reach. They copy it from the address bar.
    const redirect = new URL(new URL(printed).searchParams.get('redirect_uri') ?? '');
    const { stoppedAt } = await browse(printed, 'ann@example.com', redirect.href);
    expect(stoppedAt).toContain('/callback?code=');
    running.child.stdin.end(`${stoppedAt}\n`);
    const r = await running.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('paste it here');
    expect(pages()).toHaveLength(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ account: 'default', identity: 'ann@example.com' });
    expect(world.auth.tokenRequests[0]?.redirect_uri).toBe(world.auth.authorizeRequests[0]?.redirect_uri);
  });

  it('names the variable to set and where to register an app when no client id is known', async () => {
    const r = await runBin(['auth', 'gmail'], { ...env('idle'), GMAIL_CLIENT_ID: '' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: no OAuth client id for Gmail');
    expect(r.stderr).toContain(
      'hint: set GMAIL_CLIENT_ID and GMAIL_CLIENT_SECRET, or save an app with `connectr apps set gmail`',
    );
    expect(r.stderr).toContain('https://console.cloud.google.com/apis/credentials');
    expect(pages()).toHaveLength(0);
  });

  /**
   * The sign-in run in this process, so the port can be checked the moment the command returns,
   * while the process that opened it is still alive (a child process's ports close when it
   * exits, whatever the code did).
   */
  describe('closes the loopback port as soon as the sign-in returns', () => {
    const signIn = async (mode: string, args: string[] = []): Promise<{ code: number; port: number }> => {
      const r = await runCli(['auth', 'gmail', ...args], env(mode));
      return { code: r.code, port: Number(redirectUriIn(r.stderr).port) };
    };

    it('after a successful sign-in', async () => {
      const { code, port } = await signIn('follow');
      expect(code).toBe(0);
      expect(await portIsClosed(port)).toBe(true);
    });

    it('after the provider refused', async () => {
      const { code, port } = await signIn('deny');
      expect(code).toBe(3);
      expect(await portIsClosed(port)).toBe(true);
    });

    it('after the time-out', async () => {
      const { code, port } = await signIn('idle', ['--timeout', '1s']);
      expect(code).toBe(5);
      expect(await portIsClosed(port)).toBe(true);
    });

    it('after Ctrl-C', async () => {
      const io = testIO();
      const interrupt = new AbortController();
      const running = run(['auth', 'gmail'], io, env('idle'), interrupt.signal);
      await expect.poll(() => SIGN_IN_URL.test(io.err()), { timeout: 10_000 }).toBe(true);
      const port = Number(redirectUriIn(io.err()).port);
      expect(await isListening('127.0.0.1', port)).toBe(true);
      // What bin.ts does on SIGINT.
      interrupt.abort(new ConnectrError('cancelled', 'interrupted'));
      expect(await running).toBe(130);
      expect(await portIsClosed(port)).toBe(true);
    });
  });
});
