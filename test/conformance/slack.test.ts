import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator } from '../fixtures/emulators/slack.js';
import type { SlackEmulator } from '../fixtures/emulators/slack.js';
import { SCRIPTED_BROWSER } from '../helpers/gmail-sign-in.js';
import { tempHome } from '../helpers/home.js';
import { runCli } from '../helpers/io.js';
import { FILE_STORE } from '../helpers/stores.js';
import { freePort } from '../helpers/net.js';

/**
 * What Slack's way of answering asks of connectr, against the Slack emulator: an HTTP 200
 * `{"ok": false}` answer is an API error (exit 4) named by Slack's code, in a call and under
 * --all; `token_expired` (token rotation) refreshes the token once and repeats the call; and
 * upload_file takes a file (or standard input) through files upload v2's three steps, the
 * emulator holding its bytes at the end.
 */

describe('connectr against Slack', () => {
  let slack: SlackEmulator;
  let port: number;
  const home = tempHome();
  beforeAll(async () => {
    port = await freePort();
    slack = await startSlackEmulator({
      rotation: true,
      redirectUrls: [`http://localhost:${String(port)}/callback`],
    });
  });
  afterAll(async () => {
    await slack.close();
    home.cleanup();
  });
  /** Signed in with a static bot token from the environment. */
  const withToken = (): Record<string, string> => ({
    ...home.env,
    CONNECTR_SLACK_API_BASE_URL: `${slack.url}/api`,
    // The emulator's upload server stands in for files.slack.com.
    CONNECTR_SLACK_REDIRECT_HOSTS: slack.uploads.url,
    CONNECTR_SLACK_TOKEN: slack.token,
  });
  /** A stored account signed in through the OAuth flow (rotating tokens). */
  const signedIn = (): Record<string, string> => ({
    ...home.env,
    ...FILE_STORE.env,
    CONNECTR_SLACK_AUTHORIZATION_URL: `${slack.url}/oauth/v2/authorize`,
    CONNECTR_SLACK_TOKEN_URL: `${slack.url}/api/oauth.v2.access`,
    CONNECTR_SLACK_REVOCATION_URL: `${slack.url}/api/auth.revoke`,
    CONNECTR_SLACK_API_BASE_URL: `${slack.url}/api`,
    CONNECTR_SLACK_REDIRECT_HOSTS: slack.uploads.url,
    SLACK_CLIENT_ID: slack.clientId,
    SLACK_CLIENT_SECRET: slack.clientSecret,
    CONNECTR_BROWSER: `${process.execPath} ${SCRIPTED_BROWSER}`,
    SCRIPTED_BROWSER: 'follow',
    SCRIPTED_BROWSER_LOG: join(home.dir, 'browser.log'),
  });

  it('an "ok": false answer fails the call with exit 4, naming Slack\'s error code', async () => {
    const r = await runCli(['call', 'slack', 'list_messages', '--channel', 'C0ANNOUNC1'], withToken());
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: Slack refused the call \(not_in_channel\)/m);
    // The provider's answer, for scripts, as for any API error.
    expect(JSON.parse(r.stdout)).toEqual({
      error: { status: 200, body: { ok: false, error: 'not_in_channel' } },
    });
    const post = await runCli(
      ['call', 'slack', 'post_message', '--channel', 'C0NOWHERE1', '--text', 'x'],
      withToken(),
    );
    expect(post.code).toBe(4);
    expect(post.stderr).toContain('channel_not_found');
    // Under --all, the first page's refusal too.
    const all = await runCli(
      ['call', 'slack', 'list_messages', '--channel', 'C0ANNOUNC1', '--all'],
      withToken(),
    );
    expect(all.code).toBe(4);
    expect(all.stderr).toContain('not_in_channel');
  });

  it('token_expired: refreshes the rotating token once and repeats the call', async () => {
    const login = await runCli(['auth', 'slack', '--port', String(port)], signedIn());
    expect(login.code, login.stderr).toBe(0);
    const before = await runCli(['call', 'slack', 'auth_test'], signedIn());
    expect(before.code, before.stderr).toBe(0);
    const first = slack.requests.at(-1)?.headers.authorization;
    // The token now answers token_expired, though its 12 hours are not over.
    slack.expireToken(first?.slice('Bearer '.length) ?? '');
    const refreshes = slack.tokenRequests.filter((t) => t.grant_type === 'refresh_token').length;
    const r = await runCli(['call', 'slack', 'list_conversations', '--page-size', '1'], signedIn());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, channels: [{ name: 'general' }] });
    expect(slack.tokenRequests.filter((t) => t.grant_type === 'refresh_token')).toHaveLength(refreshes + 1);
    const calls = slack.requests.filter((q) => q.url.pathname === '/api/conversations.list').slice(-2);
    expect(calls[0]?.headers.authorization).toBe(first);
    expect(calls[1]?.headers.authorization).not.toBe(first);
    expect(calls[1]?.headers.authorization).toMatch(/^Bearer xoxe\.xoxb-/);
    // The refreshed token is stored: the next call sends it at once.
    const again = await runCli(['call', 'slack', 'auth_test'], signedIn());
    expect(again.code, again.stderr).toBe(0);
    expect(slack.requests.at(-1)?.headers.authorization).toBe(calls[1]?.headers.authorization);
  });

  it('upload_file: the three steps of files upload v2, and the emulator holds the bytes', async () => {
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));
    const path = join(home.dir, 'photo.bin');
    writeFileSync(path, bytes);
    const seen = slack.requests.length;
    const r = await runCli(
      [
        'call',
        'slack',
        'upload_file',
        '--file',
        path,
        '--filename',
        'photo.bin',
        '--title',
        'A photo',
        '--channel-id',
        'C0RANDOM01',
      ],
      withToken(),
    );
    expect(r.code, r.stderr).toBe(0);
    const answer = JSON.parse(r.stdout) as { ok: boolean; files: { id: string; title: string }[] };
    expect(answer).toMatchObject({ ok: true, files: [{ title: 'A photo' }] });
    const id = answer.files[0]?.id ?? '';
    const held = slack.files.get(id);
    expect(held?.completed).toBe(true);
    expect(held?.filename).toBe('photo.bin');
    expect(
      createHash('sha256')
        .update(held?.bytes ?? '')
        .digest('hex'),
    ).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(slack.channels.get('C0RANDOM01')?.messages.at(-1)?.files).toEqual([id]);
    expect(slack.requests.slice(seen).map((q) => q.url.pathname)).toEqual([
      '/api/files.getUploadURLExternal',
      '/api/files.completeUploadExternal',
    ]);
    const upload = slack.uploads.requests.at(-1);
    expect(upload?.headers.authorization).toBeUndefined();
    expect(upload?.headers['content-type']).toBe('application/octet-stream');
    expect(upload?.bodyLength).toBe(3000);
  });

  it('upload_file from standard input: spooled to learn the length Slack asks first', async () => {
    const r = await runCli(
      ['call', 'slack', 'upload_file', '--file', '-', '--filename', 'piped.txt'],
      withToken(),
      { stdin: 'piped text\n' },
    );
    expect(r.code, r.stderr).toBe(0);
    const id = (JSON.parse(r.stdout) as { files: { id: string }[] }).files[0]?.id ?? '';
    expect(slack.files.get(id)).toMatchObject({ filename: 'piped.txt', length: 11, completed: true });
    expect(slack.files.get(id)?.bytes?.toString()).toBe('piped text\n');
  });

  it('upload_file --dry-run and --help say where its values go, as its own request is never sent', async () => {
    const file = join(home.dir, 'dry.txt');
    writeFileSync(file, 'x');
    const dry = await runCli(
      ['call', 'slack', 'upload_file', '--file', file, '--filename', 'dry.txt', '--dry-run'],
      withToken(),
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(
      'note: upload_file runs as an upload session (get_upload_url, then the upload URL it answers, then complete_upload)',
    );
    const help = await runCli(['call', 'slack', 'upload_file', '--help'], withToken());
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('[upload session get_upload_url, complete_upload]');
  });
});
