import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KeychainStore } from '../../src/core/credentials/keychain.js';
import { runBin, startBin } from '../helpers/bin.js';
import { useGmailSignIn } from '../helpers/gmail-sign-in.js';
import { isListening } from '../helpers/net.js';

/**
 * `connectr auth gmail` end to end: the real binary in a child process, a real authorization
 * server (PKCE checked), a scripted browser process, the real keychain (a private Secret
 * Service), and the Gmail emulator for the identity call.
 */
const hasKeychain = process.env.CONNECTR_TEST_KEYCHAIN === '1';

interface LoggedPage {
  url?: string;
  status?: number;
  body?: string;
  started?: string;
}

describe('connectr auth (browser sign-in)', () => {
  const world = useGmailSignIn();
  const env = (mode: string, extra: Record<string, string> = {}): Record<string, string> =>
    world.env(mode, extra);

  /**
   * The pages the scripted browser reported, once it has logged the last one: it is a process of
   * its own and may still be writing when connectr has already exited.
   */
  async function finalPage(): Promise<LoggedPage | undefined> {
    await expect.poll(() => pages().at(-1)?.status, { timeout: 5000 }).toBeDefined();
    return pages().at(-1);
  }

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

  function allFilesUnder(dir: string): string[] {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .map((f) => join(dir, f))
      .filter((f) => statSync(f).isFile());
  }

  it.skipIf(!hasKeychain)(
    'signs in, stores tokens in the keychain and metadata in the lowdb file',
    async () => {
      const r = await runBin(['auth', 'gmail'], env('follow'));
      expect(r.stderr).toContain('Opening your browser to sign in to Gmail');
      expect(r.code, r.stderr).toBe(0);
      const record = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(record).toMatchObject({
        connector: 'gmail',
        account: 'default',
        auth_type: 'oauth2',
        grant: 'authorization_code',
        identity: 'ann@example.com',
        store: 'keychain',
        client_id: 'connectr-test-client',
      });

      // The authorization request carried PKCE (S256) and state; the server verified the verifier.
      const started = new URL(pages()[0]?.started ?? '');
      expect(started.searchParams.get('code_challenge_method')).toBe('S256');
      expect(started.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(started.searchParams.get('access_type')).toBe('offline');
      expect(new URL(started.searchParams.get('redirect_uri') ?? '').hostname).toBe('127.0.0.1');
      expect(world.auth.tokenRequests[0]).toMatchObject({ grant_type: 'authorization_code' });
      expect(world.auth.tokenRequests[0]?.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);

      // The browser was shown the success page.
      const callback = await finalPage();
      expect(callback?.status).toBe(200);
      expect(callback?.body).toContain('Signed in to Gmail');

      // Tokens are in the real keychain, namespaced by this CONNECTR_HOME.
      const keychain = new KeychainStore(5000, world.home.dir);
      const stored = JSON.parse((await keychain.get('connectr:gmail', 'default')) ?? '{}') as Record<
        string,
        string
      >;
      expect(stored.access_token).toMatch(/^ey/);
      expect(stored.refresh_token).toBeTruthy();

      // Metadata is in the lowdb file; no secret is in any file under CONNECTR_HOME.
      const metadata = JSON.parse(readFileSync(join(world.home.dir, 'accounts.json'), 'utf8')) as {
        accounts: Record<string, unknown>[];
      };
      expect(metadata.accounts[0]).toMatchObject({
        connector: 'gmail',
        account: 'default',
        store: 'keychain',
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

  /** The loopback port connectr printed in the sign-in URL. */
  function redirectPort(stderr: string): number {
    const printed = /(http:\/\/\S+\/authorize\?\S+)/.exec(stderr)?.[1] ?? '';
    return Number(new URL(new URL(printed).searchParams.get('redirect_uri') ?? '').port);
  }

  const portIsClosed = async (port: number): Promise<boolean> => !(await isListening('127.0.0.1', port));

  it('refuses a response whose state does not match, and tells the browser', async () => {
    const r = await runBin(['auth', 'gmail'], env('tamper-state'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      'error: the sign-in response does not carry the state connectr sent (state mismatch)',
    );
    expect(world.auth.tokenRequests).toHaveLength(0);
    const last = await finalPage();
    expect(last?.status).toBe(400);
    expect(last?.body).toContain('Sign-in to Gmail failed');
    expect(await portIsClosed(redirectPort(r.stderr))).toBe(true);
  });

  it.skipIf(!hasKeychain)('answers 404 on any other path and keeps waiting for the callback', async () => {
    const r = await runBin(['auth', 'gmail'], env('wrong-path'));
    expect(r.code, r.stderr).toBe(0);
    expect((await finalPage())?.status).toBe(200);
    const seen = pages().filter((p) => p.url);
    expect(seen[0]).toMatchObject({ status: 404, body: 'Not found\n' });
  });

  it('reports access_denied from the provider with exit code 3', async () => {
    const r = await runBin(['auth', 'gmail'], env('deny'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: access was denied at the sign-in page: The user denied access');
    expect(r.stderr).toContain('hint: run the login again and approve the request');
    expect((await finalPage())?.status).toBe(400);
  });

  it('gives up after --timeout with exit code 5 and closes the port', async () => {
    const started = Date.now();
    const r = await runBin(['auth', 'gmail', '--timeout', '1s'], env('idle'));
    expect(r.code).toBe(5);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.stderr).toContain('error: no sign-in response within 1 s');
    expect(await portIsClosed(redirectPort(r.stderr))).toBe(true);
  });

  it('closes the port when interrupted with Ctrl-C', async () => {
    const running = startBin(['auth', 'gmail'], env('idle'));
    await running.waitForStderr(/\/authorize\?\S+/);
    running.child.kill('SIGINT');
    const r = await running.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('error: interrupted');
    expect(await portIsClosed(redirectPort(r.stderr))).toBe(true);
  });

  it.skipIf(!hasKeychain)('--no-browser: accepts the redirected address pasted back', async () => {
    const running = startBin(['auth', 'gmail', '--no-browser'], env('idle'));
    const [printed] = await running.waitForStderr(/http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+/);
    // The person opens the address elsewhere; the provider redirects to a loopback address that
    // browser cannot reach. They copy it from the address bar.
    const response = await fetch(printed, { redirect: 'manual' });
    const location = response.headers.get('location') ?? '';
    expect(location).toContain('/callback?code=');
    running.child.stdin.end(`${location}\n`);
    const r = await running.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('paste it here');
    expect(pages()).toHaveLength(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ account: 'default', identity: 'ann@example.com' });
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
});
