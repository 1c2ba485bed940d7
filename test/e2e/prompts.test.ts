import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/bin.js';
import { useGmailSignIn } from '../helpers/gmail-sign-in.js';

/**
 * At a terminal, connectr asks for what it lacks: the OAuth app (and offers to save it), and the
 * passphrase of a new encrypted vault (twice). A real pseudo-terminal (util-linux `script`) runs
 * the binary; the test types each answer when its question appears.
 */
describe('questions at a terminal', () => {
  const world = useGmailSignIn({ server: 'oidc' });

  it('asks for the OAuth app and the vault passphrase, then signs in', async () => {
    const env = world.env('follow', {
      GMAIL_CLIENT_ID: '',
      GMAIL_CLIENT_SECRET: '',
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/connectr-bus',
      TERM: 'xterm',
    });
    const child = spawn('script', ['-qfec', `"${process.execPath}" "${BIN}" auth gmail`, '/dev/null'], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    const answers: [RegExp, string][] = [
      [/Client ID/, 'typed-client.apps.googleusercontent.com'],
      [/Client secret/, 'typed-secret'],
      [/Save this app for gmail\?/, 'y'],
      [/New vault passphrase/, 'a long passphrase'],
      [/Repeat the passphrase/, 'a long passphrase'],
    ];
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    for (const [question, answer] of answers) {
      await expect.poll(() => question.test(screen), { timeout: 10_000 }).toBe(true);
      screen = screen.slice(screen.search(question) + 1);
      child.stdin.write(`${answer}\r`);
    }
    expect(await exit, screen).toBe(0);
    expect(screen).toContain('Signed in to Gmail as ann@example.com');
    expect(world.auth.tokenRequests.at(-1)).toMatchObject({
      client_id: 'typed-client.apps.googleusercontent.com',
      client_secret: 'typed-secret',
    });
    const metadata = JSON.parse(readFileSync(join(world.home.dir, 'accounts.json'), 'utf8')) as {
      apps: Record<string, unknown>;
    };
    expect(metadata.apps.gmail).toMatchObject({
      client_id: 'typed-client.apps.googleusercontent.com',
      secret_store: 'encrypted-file',
    });
    expect(readFileSync(join(world.home.dir, 'vault.json'), 'utf8')).not.toContain('typed-secret');
  }, 30_000);
});
