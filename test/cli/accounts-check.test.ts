import { beforeEach, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { useGmailSignIn } from '../helpers/gmail-sign-in.js';
import { FILE_STORE } from '../helpers/stores.js';

/**
 * `connectr accounts check` (issue #23): the built binary, a temporary home, a strict real
 * authorization server (oidc-provider) and the Gmail emulator on 127.0.0.1. Each account is
 * refreshed when due (under its lock file) and its connector's health endpoint called; the
 * exit code says whether any must sign in again (3) or could not be checked (5).
 */

interface CheckRow {
  connector: string;
  account: string;
  result: string;
  error?: { code: string; message: string };
  fix?: string;
}

describe('connectr accounts check', () => {
  const world = useGmailSignIn({ server: 'oidc' });
  let env: Record<string, string>;
  beforeEach(() => {
    env = world.env('follow', FILE_STORE.env);
  });

  async function signIn(account: string, expiresIn?: number): Promise<void> {
    if (expiresIn !== undefined) {
      world.auth.onceTokenResponse((response) => {
        response.body.expires_in = expiresIn;
      });
    }
    const r = await runBin(['auth', 'gmail', '--account', account], env);
    expect(r.code, r.stderr).toBe(0);
  }

  async function check(
    ...args: string[]
  ): Promise<{ code: number | null; rows: CheckRow[]; stderr: string }> {
    const r = await runBin(['accounts', 'check', ...args, '--json'], env);
    return { code: r.code, rows: JSON.parse(r.stdout || '[]') as CheckRow[], stderr: r.stderr };
  }

  const profileCalls = (): number =>
    world.gmail.requests.filter((r) => r.url.pathname.endsWith('/profile')).length;

  it('says ok for a working account, after refreshing a token that was due, and exits 0', async () => {
    await signIn('work', 30);
    const before = world.auth.tokenRequests.length;
    const probes = profileCalls();
    const { code, rows, stderr } = await check('gmail');
    expect(code, stderr).toBe(0);
    expect(rows).toEqual([{ connector: 'gmail', account: 'work', result: 'ok' }]);
    expect(world.auth.tokenRequests.slice(before).map((r) => r.grant_type)).toEqual(['refresh_token']);
    expect(profileCalls()).toBe(probes + 1);
  }, 60_000);

  it('names the command to run when the API refuses even a refreshed token, and exits 3', async () => {
    await signIn('old');
    world.rejectToken('*');
    const { code, rows, stderr } = await check();
    expect(code).toBe(3);
    expect(rows).toEqual([
      {
        connector: 'gmail',
        account: 'old',
        result: 'needs_sign_in',
        error: { code: 'health_check_failed', message: expect.stringContaining('401') as unknown },
        fix: 'connectr auth gmail --account old',
      },
    ]);
    expect(stderr).toContain('connectr auth gmail --account old');
  }, 60_000);

  it('says so when the provider refuses the refresh (invalid_grant)', async () => {
    await signIn('revoked', 30);
    world.auth.onceTokenResponse((response) => {
      response.status = 400;
      response.body = { error: 'invalid_grant', error_description: 'grant revoked' };
    });
    const { code, rows } = await check();
    expect(code).toBe(3);
    expect(rows[0]).toMatchObject({ result: 'needs_sign_in', error: { code: 'refresh_rejected' } });
  }, 60_000);

  it('does not ask for a new sign-in when the API cannot be reached or answers 5xx: exit 5', async () => {
    await signIn('flaky');
    world.gmail.faults.push({ match: (r) => r.url.pathname.endsWith('/profile'), status: 503, times: 10 });
    const failing = await check();
    expect(failing.code).toBe(5);
    expect(failing.rows[0]).toMatchObject({ result: 'unknown', error: { code: 'upstream_error' } });
    world.gmail.faults.length = 0;
    world.gmail.faults.push({ match: (r) => r.url.pathname.endsWith('/profile'), drop: true, times: 10 });
    const dropped = await check();
    expect(dropped.code).toBe(5);
    expect(dropped.rows[0]).toMatchObject({ result: 'unknown', error: { code: 'network' } });
    world.gmail.faults.length = 0;
  }, 120_000);

  it('refuses an unknown connector with a suggestion, and has help', async () => {
    const r = await runBin(['accounts', 'check', 'gmial'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('gmail');
    const help = await runBin(['accounts', 'check', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('sign in again');
    expect(help.stdout).toContain('--json');
  }, 60_000);
});
