import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startSlackEmulator } from '../fixtures/emulators/slack.js';
import type { SlackEmulator } from '../fixtures/emulators/slack.js';
import type { ConnectorCase, World } from './cases.js';

/** The Slack connector against the Slack Web API emulator (test/fixtures/emulators/slack.ts). */

const emulators = new WeakMap<World, SlackEmulator>();

function slackOf(world: World): SlackEmulator {
  const slack = emulators.get(world);
  if (!slack) throw new Error('not a Slack world');
  return slack;
}

function expectJson(stdout: string, subset: Record<string, unknown>): void {
  expect(JSON.parse(stdout)).toMatchObject(subset);
}

/** The ts of the n-th message (1-based, oldest first) of #general. */
function generalTs(world: World, n: number): string {
  return slackOf(world).channels.get('C0GENERAL1')?.messages[n - 1]?.ts ?? '';
}

function file(world: World, name: string, content: string): string {
  const path = join(world.dir, name);
  writeFileSync(path, content);
  return path;
}

/** Uploads `content` the way get_upload_url's caller would, and answers the new file's id. */
async function uploaded(world: World, content: string): Promise<string> {
  const slack = slackOf(world);
  const response = await fetch(`${slack.url}/api/files.getUploadURLExternal`, {
    method: 'POST',
    headers: { authorization: `Bearer ${slack.token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      filename: 'made.txt',
      length: String(Buffer.byteLength(content)),
    }).toString(),
  });
  const { upload_url: url, file_id: id } = (await response.json()) as { upload_url: string; file_id: string };
  expect((await fetch(url, { method: 'POST', body: content })).status).toBe(200);
  return id;
}

export const slack: ConnectorCase = {
  connector: 'slack',
  async start(dir) {
    const emulator = await startSlackEmulator();
    const world: World = {
      // The upload URL host (files.slack.com) gets no credential: the conformance suite checks it.
      hosts: { api: emulator, uploads: emulator.uploads },
      env: {
        CONNECTR_SLACK_API_BASE_URL: `${emulator.url}/api`,
        // The emulator's upload server stands in for files.slack.com (redirect_hosts).
        CONNECTR_SLACK_REDIRECT_HOSTS: emulator.uploads.url,
        CONNECTR_SLACK_TOKEN: emulator.token,
      },
      token: emulator.token,
      dir,
      close: () => emulator.close(),
    };
    emulators.set(world, emulator);
    return world;
  },
  endpoints: {
    auth_test: {
      args: () => [],
      expect: { host: 'api', method: 'POST', path: '/api/auth.test' },
      output: (out) =>
        expectJson(out, {
          ok: true,
          url: 'https://connectr-test.slack.com/',
          team_id: 'T0CONNECT1',
          bot_id: 'B0BOTID001',
        }),
    },
    list_conversations: {
      args: () => [
        '--types',
        'public_channel,private_channel',
        '--exclude-archived',
        '--page-size',
        '2',
        '--cursor',
        Buffer.from('team:C0RANDOM01').toString('base64'),
        '--team-id',
        'T0CONNECT1',
      ],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/api/conversations.list',
        query: {
          types: 'public_channel,private_channel',
          exclude_archived: 'true',
          limit: '2',
          cursor: Buffer.from('team:C0RANDOM01').toString('base64'),
          team_id: 'T0CONNECT1',
        },
      },
      output: (out) => {
        const page = JSON.parse(out) as {
          channels: { name: string }[];
          response_metadata: { next_cursor: string };
        };
        expect(page.channels.map((c) => c.name)).toEqual(['random', 'releases']);
        expect(page.response_metadata.next_cursor).not.toBe('');
      },
    },
    list_messages: {
      args: (w) => [
        '--channel',
        'C0GENERAL1',
        '--oldest',
        generalTs(w, 2),
        '--latest',
        generalTs(w, 6),
        '--inclusive',
        '--include-all-metadata',
        '--page-size',
        '2',
        '--cursor',
        Buffer.from(`next_ts:${generalTs(w, 5)}`).toString('base64'),
      ],
      expect: (w) => ({
        host: 'api',
        method: 'GET',
        path: '/api/conversations.history',
        query: {
          channel: 'C0GENERAL1',
          oldest: generalTs(w, 2),
          latest: generalTs(w, 6),
          inclusive: 'true',
          include_all_metadata: 'true',
          limit: '2',
          cursor: Buffer.from(`next_ts:${generalTs(w, 5)}`).toString('base64'),
        },
      }),
      output: (out) => {
        const page = JSON.parse(out) as { messages: { text: string }[]; has_more: boolean };
        expect(page.messages.map((m) => m.text)).toEqual(['Message 5', 'Message 4']);
        expect(page.has_more).toBe(true);
      },
    },
    post_message: {
      args: (w) => [
        '--channel',
        'C0GENERAL1',
        '--text',
        'Deployed *v2*',
        '--blocks',
        '[{"type":"section","text":{"type":"mrkdwn","text":"Deployed *v2*"}}]',
        '--attachments',
        '[{"fallback":"log","text":"build log"}]',
        '--thread-ts',
        generalTs(w, 1),
        '--reply-broadcast',
        '--mrkdwn',
        '--parse',
        'full',
        '--link-names',
        '--unfurl-links',
        '--no-unfurl-media',
        '--username',
        'deploy-bot',
        '--icon-emoji',
        ':rocket:',
        '--icon-url',
        'https://example.com/icon.png',
        '--metadata',
        '{"event_type":"deployed","event_payload":{"version":"2"}}',
      ],
      expect: (w) => ({
        host: 'api',
        method: 'POST',
        path: '/api/chat.postMessage',
        headers: { 'content-type': /^application\/json/ },
        json: {
          channel: 'C0GENERAL1',
          text: 'Deployed *v2*',
          blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Deployed *v2*' } }],
          attachments: [{ fallback: 'log', text: 'build log' }],
          thread_ts: generalTs(w, 1),
          reply_broadcast: true,
          mrkdwn: true,
          parse: 'full',
          link_names: true,
          unfurl_links: true,
          unfurl_media: false,
          username: 'deploy-bot',
          icon_emoji: ':rocket:',
          icon_url: 'https://example.com/icon.png',
          metadata: { event_type: 'deployed', event_payload: { version: '2' } },
        },
      }),
      output: (out) =>
        expectJson(out, { ok: true, channel: 'C0GENERAL1', message: { text: 'Deployed *v2*' } }),
    },
    get_upload_url: {
      args: () => [
        '--filename',
        'notes.py',
        '--length',
        '11',
        '--alt-txt',
        'Some notes',
        '--snippet-type',
        'python',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/api/files.getUploadURLExternal',
        headers: { 'content-type': /^application\/x-www-form-urlencoded/ },
        body: 'filename=notes.py&length=11&alt_txt=Some+notes&snippet_type=python',
      },
      output: (out) => {
        const answer = JSON.parse(out) as { ok: boolean; upload_url: string; file_id: string };
        expect(answer.ok).toBe(true);
        expect(answer.upload_url).toMatch(/\/upload\/v1\/[0-9a-f]+$/);
        expect(answer.file_id).toMatch(/^F0/);
      },
    },
    complete_upload: {
      args: async (w) => [
        '--files',
        JSON.stringify([{ id: await uploaded(w, 'made by hand'), title: 'By hand' }]),
        '--channel-id',
        'C0RANDOM01',
        '--channels',
        'C0RELEASE1',
        '--initial-comment',
        'Here it is',
        '--thread-ts',
        generalTs(w, 1),
      ],
      expect: (w) => ({
        host: 'api',
        method: 'POST',
        path: '/api/files.completeUploadExternal',
        headers: { 'content-type': /^application\/json/ },
        json: {
          files: [{ title: 'By hand' }],
          channel_id: 'C0RANDOM01',
          channels: 'C0RELEASE1',
          initial_comment: 'Here it is',
          thread_ts: generalTs(w, 1),
        },
      }),
      output: (out) => expectJson(out, { ok: true, files: [{ title: 'By hand' }] }),
    },
    upload_file: {
      args: (w) => [
        '--file',
        file(w, 'report.csv', 'month,total\njan,3\n'),
        '--filename',
        'report.csv',
        '--title',
        'January report',
        '--alt-txt',
        'A table of totals',
        '--snippet-type',
        'csv',
        '--channel-id',
        'C0RELEASE1',
        '--initial-comment',
        'The January totals',
        '--thread-ts',
        generalTs(w, 1),
      ],
      // The first of the three requests: the upload URL, asked with the file's size.
      expect: {
        host: 'api',
        method: 'POST',
        path: '/api/files.getUploadURLExternal',
        body: 'filename=report.csv&length=18&alt_txt=A+table+of+totals&snippet_type=csv',
      },
      output: (out) => {
        const answer = JSON.parse(out) as { ok: boolean; files: { id: string; title: string }[] };
        expect(answer).toMatchObject({ ok: true, files: [{ title: 'January report' }] });
      },
    },
  },
  idempotent: { endpoint: 'auth_test', args: [] },
  nonIdempotent: { endpoint: 'post_message', args: ['--channel', 'C0GENERAL1', '--text', 'Once'] },
  everyHost: [
    { endpoint: 'auth_test', args: () => [] },
    {
      endpoint: 'upload_file',
      args: (w) => [
        '--file',
        file(w, 'hello.txt', 'hello\n'),
        '--filename',
        'hello.txt',
        '--channel-id',
        'C0RANDOM01',
      ],
    },
  ],
  pagination: {
    list_conversations: { args: () => ['--page-size', '2'], items: 5, minPages: 3 },
    list_messages: { args: () => ['--channel', 'C0GENERAL1', '--page-size', '3'], items: 7, minPages: 3 },
  },
};
