import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackEmulator } from '../fixtures/emulators/slack.js';
import type { SlackEmulator } from '../fixtures/emulators/slack.js';

/**
 * The Slack emulator refuses what Slack refuses, in Slack's shapes (HTTP 200 with "ok": false
 * and an error code), so the connector's cases prove something. connectr's handling of those
 * answers is in slack.test.ts.
 */
describe('the Slack emulator', () => {
  let slack: SlackEmulator;
  const api = (method: string): string => `${slack.url}/api/${method}`;
  const bearer = (): Record<string, string> => ({ authorization: `Bearer ${slack.token}` });
  const json = async (response: Response): Promise<Record<string, unknown>> =>
    (await response.json()) as Record<string, unknown>;
  beforeAll(async () => {
    slack = await startSlackEmulator({ redirectUrls: ['http://localhost:53683/callback'] });
  });
  afterAll(async () => {
    await slack.close();
  });

  it('answers a missing, an unknown and an expired token at HTTP 200 with not_authed, invalid_auth, token_expired', async () => {
    const none = await fetch(api('auth.test'), { method: 'POST' });
    expect(none.status).toBe(200);
    expect(await json(none)).toEqual({ ok: false, error: 'not_authed' });
    const bad = await fetch(api('auth.test'), {
      method: 'POST',
      headers: { authorization: 'Bearer xoxb-nope' },
    });
    expect(await json(bad)).toEqual({ ok: false, error: 'invalid_auth' });
    // A token as a POST field is accepted, as Slack does.
    const field = await fetch(api('auth.test'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${slack.token}`,
    });
    expect(await json(field)).toMatchObject({ ok: true, team_id: 'T0CONNECT1' });
    const other = await startSlackEmulator({ token: 'xoxe.xoxb-soon-expired' });
    try {
      other.expireToken('xoxe.xoxb-soon-expired');
      const expired = await fetch(`${other.url}/api/auth.test`, {
        method: 'POST',
        headers: { authorization: 'Bearer xoxe.xoxb-soon-expired' },
      });
      expect(await json(expired)).toEqual({ ok: false, error: 'token_expired' });
    } finally {
      await other.close();
    }
  });

  it('refuses a POST body without a Content-Type, and one of another type', async () => {
    const untyped = await fetch(api('chat.postMessage'), {
      method: 'POST',
      headers: { ...bearer(), 'content-type': '' },
      body: new Uint8Array(Buffer.from('channel=C0GENERAL1&text=hi')),
    });
    expect(await json(untyped)).toEqual({ ok: false, error: 'missing_post_type' });
    const xml = await fetch(api('chat.postMessage'), {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/xml' },
      body: '<channel/>',
    });
    expect(await json(xml)).toEqual({ ok: false, error: 'invalid_post_type' });
  });

  it('reads JSON only where the method takes it: conversations.history and getUploadURLExternal do not', async () => {
    const history = await fetch(api('conversations.history'), {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'C0GENERAL1' }),
    });
    expect(await json(history)).toEqual({ ok: false, error: 'channel_not_found' });
    const upload = await fetch(api('files.getUploadURLExternal'), {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: JSON.stringify({ filename: 'a.txt', length: 3 }),
    });
    expect(await json(upload)).toEqual({
      ok: false,
      error: 'invalid_arguments',
      response_metadata: {
        messages: ['[ERROR] missing required field: filename', '[ERROR] missing required field: length'],
      },
    });
    const posted = await fetch(api('chat.postMessage'), {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'C0GENERAL1', text: 'Hello' }),
    });
    expect(await json(posted)).toMatchObject({ ok: true, channel: 'C0GENERAL1', message: { text: 'Hello' } });
  });

  it('checks the channel, the membership and the message text', async () => {
    const post = async (body: Record<string, unknown>): Promise<Record<string, unknown>> =>
      json(
        await fetch(api('chat.postMessage'), {
          method: 'POST',
          headers: { ...bearer(), 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      );
    expect(await post({ text: 'x' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(await post({ channel: 'C0ANNOUNC1', text: 'x' })).toEqual({ ok: false, error: 'not_in_channel' });
    expect(await post({ channel: 'C0OLDPROJ1', text: 'x' })).toEqual({ ok: false, error: 'is_archived' });
    expect(await post({ channel: 'C0GENERAL1' })).toEqual({ ok: false, error: 'no_text' });
  });

  it('pages conversations.list with next_cursor, "" on the last page; refuses a bad cursor and type', async () => {
    const names: string[] = [];
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const response = await json(
        await fetch(
          `${api('conversations.list')}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          {
            headers: bearer(),
          },
        ),
      );
      names.push(...(response.channels as { name: string }[]).map((c) => c.name));
      cursor = (response.response_metadata as { next_cursor: string }).next_cursor;
      if (cursor === '') break;
    }
    expect(names).toEqual(['general', 'random', 'releases', 'announcements', 'old-project']);
    const bad = await fetch(`${api('conversations.list')}?cursor=bm9wZQ==`, { headers: bearer() });
    expect(await json(bad)).toEqual({ ok: false, error: 'invalid_cursor' });
    const types = await fetch(`${api('conversations.list')}?types=channels`, { headers: bearer() });
    expect(await json(types)).toEqual({ ok: false, error: 'invalid_types' });
    const limit = await fetch(`${api('conversations.list')}?limit=many`, { headers: bearer() });
    expect(await json(limit)).toEqual({ ok: false, error: 'invalid_limit' });
  });

  it('pages conversations.history newest first; the last page has no response_metadata', async () => {
    const first = await json(
      await fetch(`${api('conversations.history')}?channel=C0GENERAL1&limit=4`, { headers: bearer() }),
    );
    expect(first).toMatchObject({
      ok: true,
      has_more: true,
      response_metadata: { next_cursor: expect.any(String) as unknown },
    });
    const cursor = (first.response_metadata as { next_cursor: string }).next_cursor;
    const last = await json(
      await fetch(
        `${api('conversations.history')}?channel=C0GENERAL1&limit=4&cursor=${encodeURIComponent(cursor)}`,
        {
          headers: bearer(),
        },
      ),
    );
    expect(last.has_more).toBe(false);
    expect(last.response_metadata).toBeUndefined();
    const texts = [...(first.messages as { text: string }[]), ...(last.messages as { text: string }[])].map(
      (m) => m.text,
    );
    expect(texts.slice(0, 3)).toEqual(['Hello', 'Message 7', 'Message 6']);
    const badTs = await fetch(`${api('conversations.history')}?channel=C0GENERAL1&oldest=yesterday`, {
      headers: bearer(),
    });
    expect(await json(badTs)).toEqual({ ok: false, error: 'invalid_ts_oldest' });
  });

  it('uploads v2: the upload URL takes exactly `length` raw bytes without a token; completion needs them', async () => {
    const ticket = async (length: number): Promise<{ upload_url: string; file_id: string }> =>
      (await json(
        await fetch(api('files.getUploadURLExternal'), {
          method: 'POST',
          headers: { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' },
          body: `filename=notes.txt&length=${String(length)}`,
        }),
      )) as unknown as { upload_url: string; file_id: string };
    const zero = await fetch(api('files.getUploadURLExternal'), {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'filename=empty.txt&length=0',
    });
    expect(await json(zero)).toEqual({ ok: false, error: 'missing_argument' });

    const { upload_url: url, file_id: id } = await ticket(5);
    expect(new URL(url).origin).toBe(slack.uploads.url);
    const complete = async (fileId: string): Promise<Record<string, unknown>> =>
      json(
        await fetch(api('files.completeUploadExternal'), {
          method: 'POST',
          headers: { ...bearer(), 'content-type': 'application/json' },
          body: JSON.stringify({ files: [{ id: fileId, title: 'Notes' }], channel_id: 'C0RANDOM01' }),
        }),
      );
    // Not uploaded yet, and never issued.
    expect(await complete(id)).toEqual({ ok: false, error: 'file_not_found' });
    expect(await complete('F0NEVER001')).toEqual({ ok: false, error: 'file_not_found' });
    const short = await fetch(url, { method: 'POST', body: 'abc' });
    expect(short.status).toBe(400);
    const sent = await fetch(url, { method: 'POST', body: 'hello' });
    expect(sent.status).toBe(200);
    expect(await sent.text()).toBe('OK - 5');
    expect(await complete(id)).toEqual({ ok: true, files: [{ id, title: 'Notes' }] });
    expect(slack.files.get(id)?.bytes?.toString()).toBe('hello');
    expect(slack.channels.get('C0RANDOM01')?.messages.at(-1)?.files).toEqual([id]);
    // A completed file cannot be completed again.
    expect(await complete(id)).toEqual({ ok: false, error: 'file_not_found' });
    expect(slack.uploads.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('rate limits as Slack does: 429, Retry-After, ratelimited', async () => {
    slack.rateLimit('auth.test', 7);
    const limited = await fetch(api('auth.test'), { method: 'POST', headers: bearer() });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await json(limited)).toEqual({ ok: false, error: 'ratelimited' });
    expect((await fetch(api('auth.test'), { method: 'POST', headers: bearer() })).status).toBe(200);
  });

  it('OAuth: an unregistered redirect_uri is an error page; codes are single-use; a verifier is refused', async () => {
    const authorize = (redirect: string): Promise<Response> =>
      fetch(
        `${slack.url}/oauth/v2/authorize?client_id=${slack.clientId}&scope=chat:write&state=s1&redirect_uri=${encodeURIComponent(redirect)}`,
        { redirect: 'manual' },
      );
    const wrong = await authorize('http://localhost:9999/callback');
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain(
      'redirect_uri did not match any configured URIs. Passed URI: http://localhost:9999/callback',
    );
    const code = async (): Promise<string> => {
      const right = await authorize('http://localhost:53683/callback');
      expect(right.status).toBe(302);
      const back = new URL(right.headers.get('location') ?? '');
      expect(back.searchParams.get('state')).toBe('s1');
      return back.searchParams.get('code') ?? '';
    };
    const basic = `Basic ${Buffer.from(`${slack.clientId}:${slack.clientSecret}`).toString('base64')}`;
    const exchange = async (form: Record<string, string>): Promise<Record<string, unknown>> =>
      json(
        await fetch(api('oauth.v2.access'), {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
        }),
      );
    const first = await code();
    expect(await exchange({ code: first, redirect_uri: 'http://localhost:1/callback' })).toEqual({
      ok: false,
      error: 'bad_redirect_uri',
    });
    const second = await code();
    expect(
      await exchange({ code: second, redirect_uri: 'http://localhost:53683/callback', code_verifier: 'v' }),
    ).toEqual({
      ok: false,
      error: 'pkce_not_allowed',
    });
    const third = await code();
    const tokens = await exchange({ code: third, redirect_uri: 'http://localhost:53683/callback' });
    expect(tokens).toMatchObject({
      ok: true,
      token_type: 'bot',
      scope: 'chat:write',
      team: { id: 'T0CONNECT1' },
    });
    expect(tokens.refresh_token).toBeUndefined();
    expect(await exchange({ code: third, redirect_uri: 'http://localhost:53683/callback' })).toEqual({
      ok: false,
      error: 'invalid_code',
    });
    // The new token carries only the scope granted: listing channels needs channels:read.
    const list = await fetch(api('conversations.list'), {
      headers: { authorization: `Bearer ${String(tokens.access_token)}` },
    });
    expect(await json(list)).toEqual({
      ok: false,
      error: 'missing_scope',
      needed: 'channels:read',
      provided: 'chat:write',
    });
  });
});
