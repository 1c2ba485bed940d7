import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { seedPglite } from '../helpers/server-store.js';

/**
 * `connectr serve console` against a real `connectr serve` on PGlite: the daemon mints a
 * one-time link over its control socket; `--no-open` prints it, else the CLI's browser opener
 * (CONNECTR_BROWSER, here a script that writes down what it was given) opens it. The link
 * signs in once, and the address it ends on holds no secret.
 */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const STARTED = /connectr serve: listening on (http:\/\/127\.0\.0\.1:\d+) \(store: pglite/;
const LINK = /^(http:\/\/127\.0\.0\.1:\d+)\/console\/link\?token=([A-Za-z0-9_-]{43})$/;

function home(): { env: Record<string, string>; dir: string } {
  const h = tempHome();
  cleanups.push(h.cleanup);
  seedPglite(h.env.CONNECTR_HOME ?? '');
  const env: Record<string, string> = {
    ...h.env,
    CONNECTR_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
  };
  delete env.DATABASE_URL;
  return { env, dir: h.dir };
}

async function start(env: Record<string, string>): Promise<string> {
  const running = startBin(['serve', '--port', '0', '--log-level', 'warn'], env, 120_000);
  cleanups.push(() => running.child.kill('SIGKILL'));
  const [, url = ''] = await running.waitForStderr(STARTED, 90_000);
  return url;
}

describe.skipIf(process.platform === 'win32')('connectr serve console', () => {
  it('--no-open prints a one-time link that signs the browser in once, then lands on /console without it', async () => {
    const { env } = home();
    const url = await start(env);
    const printed = await runBin(['serve', 'console', '--no-open'], env, { timeoutMs: 60_000 });
    expect(printed.code, printed.stderr).toBe(0);
    const link = printed.stdout.trim();
    const match = LINK.exec(link);
    expect(match?.[1]).toBe(url);
    expect(printed.stderr).toContain('within a minute');

    const exchanged = await fetch(link, { redirect: 'manual' });
    expect(exchanged.status).toBe(303);
    expect(exchanged.headers.get('location')).toBe('/console/connections');
    const cookie = exchanged.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^connectr_console=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const session = cookie.split(';')[0] ?? '';
    const keysPage = await fetch(`${url}/console/keys`, { headers: { cookie: session }, redirect: 'manual' });
    expect(keysPage.status).toBe(200);
    expect(await keysPage.text()).toContain('Create key');

    const reused = await fetch(link, { redirect: 'manual' });
    expect(reused.status).toBe(400);
    expect(reused.headers.get('set-cookie')).toBeNull();
  }, 180_000);

  it("opens the link with the CLI's browser opener, printing no secret", async () => {
    const { env, dir } = home();
    await start(env);
    const opened = join(dir, 'opened.txt');
    const browser = join(dir, 'browser.sh');
    writeFileSync(browser, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
    chmodSync(browser, 0o700);
    const result = await runBin(
      ['serve', 'console'],
      { ...env, CONNECTR_BROWSER: browser },
      { timeoutMs: 60_000 },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('Opened the console');
    for (let i = 0; i < 50 && !existsSync(opened); i++) await new Promise((r) => setTimeout(r, 100));
    const link = readFileSync(opened, 'utf8');
    const token = LINK.exec(link)?.[2] ?? '';
    expect(token).not.toBe('');
    expect(result.stdout + result.stderr).not.toContain(token);
  }, 180_000);

  it('says so when no server runs, and refuses an unknown project', async () => {
    const { env } = home();
    const none = await runBin(['serve', 'console', '--no-open'], env, { timeoutMs: 60_000 });
    expect(none.code).toBe(5);
    expect(none.stderr).toContain('no `connectr serve` runs');
    await start(env);
    const unknown = await runBin(['serve', 'console', '--no-open', '--project', 'nope'], env, {
      timeoutMs: 60_000,
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no project "nope"');
    expect(unknown.stdout).toBe('');
  }, 240_000);
});
