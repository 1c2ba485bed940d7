import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { useGmailSignIn } from '../helpers/gmail-sign-in.js';

const HOLDER = join(import.meta.dirname, '../fixtures/refresh/paused-holder.mjs');

/**
 * The cross-process refresh lock when its holder is paused (Ctrl-Z, SIGSTOP, a sleeping laptop)
 * past the lock's stale time: another process takes the lock over and refreshes; the paused one,
 * resumed, must neither crash (proper-lockfile's ECOMPROMISED) nor send the refresh token it read
 * before the pause. The holder is SIGSTOPped while it holds the lock, right after reading the
 * stored refresh token (test/fixtures/refresh/paused-holder.mjs says when); the other refresher
 * is the real binary.
 */
describe('refresh lock with a paused holder', () => {
  const world = useGmailSignIn();

  it('the token server gets exactly one refresh_token grant, and no process fails', async () => {
    const env = { ...world.env(), CONNECTR_LOCK_STALE_MS: '2000' };
    world.auth.server.service.once(
      'beforeResponse',
      (response: { body: Record<string, unknown> | string }) => {
        if (typeof response.body === 'object') response.body.expires_in = 30;
      },
    );
    const signIn = await runBin(['auth', 'gmail', '--insecure-storage'], env);
    expect(signIn.code, signIn.stderr).toBe(0);
    const before = world.auth.tokenRequests.length;

    const holder = spawn(process.execPath, [HOLDER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => holder.kill('SIGKILL'), 60_000);
    let stdout = '';
    let stderr = '';
    holder.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const underLock = new Promise<void>((resolve) => {
      holder.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('UNDER-LOCK')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => holder.on('close', resolve));
    try {
      await underLock;
      holder.kill('SIGSTOP');
      // Paused past the stale time: the binary takes the lock over and refreshes.
      const second = await runBin(['token', 'gmail'], env, { timeoutMs: 40_000 });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).not.toMatch(/\n\s+at |ECOMPROMISED|internal error/);
      holder.kill('SIGCONT');
      expect(await exited, stderr).toBe(0);
      expect(stderr).not.toMatch(/\n\s+at |ECOMPROMISED|internal error/);
      expect(stdout).toBe(second.stdout);
    } finally {
      clearTimeout(killer);
      holder.kill('SIGCONT');
    }
    const grants = world.auth.tokenRequests.slice(before).map((t) => t.grant_type);
    expect(grants).toEqual(['refresh_token']);
  }, 90_000);
});
