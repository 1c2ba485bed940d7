import { writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { join } from 'node:path';
import { emulatorEnv } from '../helpers/emulator-env.js';
import { startDropboxEmulator } from '../fixtures/emulators/dropbox.js';
import type { DropboxEmulator } from '../fixtures/emulators/dropbox.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { startGraphEmulator } from '../fixtures/emulators/graph.js';
import type { GraphEmulator } from '../fixtures/emulators/graph.js';
import type { Emulator, RecordedRequest } from '../fixtures/emulators/server.js';
import { github } from './cases-github.js';
import { outlook } from './cases-outlook.js';
import { gcal } from './cases-gcal.js';
import { gdrive } from './cases-gdrive.js';
import { slack } from './cases-slack.js';

/**
 * What the conformance suite knows about each connector: how to start its emulator, and for
 * every endpoint the flags of a valid call and the request the real API expects for them. A
 * connector joins the suite with a YAML file, an emulator and an entry here; the suite fails
 * when a connector or an endpoint has no case.
 */

export interface World {
  /** Emulator servers by host key (api, content, graph...). */
  readonly hosts: Record<string, Emulator>;
  /** Environment that points the connector at the emulators and authenticates. */
  readonly env: Record<string, string>;
  readonly token: string;
  /** A scratch directory for files to upload. */
  readonly dir: string;
  close(): Promise<void>;
}

export interface Expectation {
  readonly host: string;
  readonly method: string;
  readonly path: string;
  /** Query parameters that must be present (all values, in order, for repeated keys). */
  readonly query?: Record<string, string | string[]>;
  /** A subset the JSON body must contain. */
  readonly json?: unknown;
  /** Headers that must be present (exact text or a pattern). */
  readonly headers?: Record<string, string | RegExp>;
  /** The body bytes, for uploads. */
  readonly body?: string;
}

export interface EndpointCase {
  args(world: World): string[] | Promise<string[]>;
  readonly expect: Expectation | ((world: World) => Expectation);
  /** What stdout must contain (JSON responses are parsed first). */
  readonly output?: (stdout: string, stderr: string) => void;
}

export interface PaginationCase {
  readonly args: (world: World) => string[] | Promise<string[]>;
  /** Items expected across all pages. */
  readonly items: number;
  /** The least number of pages the call must take. */
  readonly minPages: number;
}

export interface ConnectorCase {
  readonly connector: string;
  start(dir: string): Promise<World>;
  readonly endpoints: Record<string, EndpointCase>;
  /** Endpoints used for the fault checks. */
  readonly idempotent: { endpoint: string; args: string[] };
  readonly nonIdempotent: { endpoint: string; args: string[] };
  /** Calls that together reach every host of the world (for the credential check). */
  readonly everyHost: readonly { endpoint: string; args: (world: World) => string[] }[];
  readonly pagination: Record<string, PaginationCase>;
}

function file(world: World, name: string, content: string | Buffer): string {
  const path = join(world.dir, name);
  writeFileSync(path, content);
  return path;
}

async function dropboxRpc(world: World, route: string, arg: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${world.hosts.api?.url ?? ''}/2/${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${world.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(arg),
  });
  return (await response.json()) as Record<string, unknown>;
}

const gmail: ConnectorCase = {
  connector: 'gmail',
  async start(dir) {
    const token = 'gmail-conformance-token';
    const emulator: GmailEmulator = await startGmailEmulator({
      acceptToken: (t) => t === token,
      messages: 7,
    });
    return {
      hosts: { api: emulator },
      env: { CONNECTR_GMAIL_API_BASE_URL: emulator.url, CONNECTR_GMAIL_TOKEN: token },
      token,
      dir,
      close: () => emulator.close(),
    };
  },
  endpoints: {
    get_profile: {
      args: () => [],
      expect: { host: 'api', method: 'GET', path: '/gmail/v1/users/me/profile' },
      output: (out) => expectJson(out, { emailAddress: 'ann@example.com' }),
    },
    list_messages: {
      args: () => [
        '--max-results',
        '3',
        '--label-ids',
        'INBOX',
        '--label-ids',
        'UNREAD',
        '--q',
        'is:unread',
        '--include-spam-trash',
        // The first page's token ("0" in the emulator's base64url page tokens).
        '--page-token',
        'MA',
      ],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/gmail/v1/users/me/messages',
        query: {
          maxResults: '3',
          labelIds: ['INBOX', 'UNREAD'],
          q: 'is:unread',
          includeSpamTrash: 'true',
          pageToken: 'MA',
        },
      },
      output: (out) => expectJson(out, { resultSizeEstimate: 4 }),
    },
    get_message: {
      args: () => [
        '--id',
        '00000000000018c0',
        '--format',
        'metadata',
        '--metadata-headers',
        'Subject',
        '--metadata-headers',
        'From',
      ],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/gmail/v1/users/me/messages/00000000000018c0',
        query: { format: 'metadata', metadataHeaders: ['Subject', 'From'] },
      },
      output: (out) => expectJson(out, { id: '00000000000018c0' }),
    },
    get_attachment: {
      args: () => ['--message-id', '00000000000018c1', '--id', 'ANGjdJ8'],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/gmail/v1/users/me/messages/00000000000018c1/attachments/ANGjdJ8',
      },
    },
    send_message: {
      args: () => [
        '--raw-message',
        Buffer.from('To: bob@example.com\r\nSubject: Hi\r\n\r\nHello').toString('base64url'),
        '--thread-id',
        '00000000000018c0',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/gmail/v1/users/me/messages/send',
        headers: { 'content-type': 'application/json' },
        json: {
          raw: Buffer.from('To: bob@example.com\r\nSubject: Hi\r\n\r\nHello').toString('base64url'),
          threadId: '00000000000018c0',
        },
      },
      output: (out) => expectJson(out, { labelIds: ['SENT'] }),
    },
    send_message_mime: {
      args: (w) => [
        '--file',
        file(w, 'mail.eml', 'To: bob@example.com\r\nSubject: From a file\r\n\r\nHello\r\n'),
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/upload/gmail/v1/users/me/messages/send',
        query: { uploadType: 'media' },
        headers: { 'content-type': 'message/rfc822' },
        body: 'To: bob@example.com\r\nSubject: From a file\r\n\r\nHello\r\n',
      },
    },
    trash_message: {
      args: () => ['--id', '00000000000018c2'],
      expect: { host: 'api', method: 'POST', path: '/gmail/v1/users/me/messages/00000000000018c2/trash' },
      output: (out) =>
        expect(JSON.parse(out)).toMatchObject({ labelIds: expect.arrayContaining(['TRASH']) as unknown }),
    },
    untrash_message: {
      args: () => ['--id', '00000000000018c2'],
      expect: { host: 'api', method: 'POST', path: '/gmail/v1/users/me/messages/00000000000018c2/untrash' },
    },
    delete_message: {
      args: () => ['--id', '00000000000018c3'],
      expect: { host: 'api', method: 'DELETE', path: '/gmail/v1/users/me/messages/00000000000018c3' },
    },
    modify_message: {
      args: () => ['--id', '00000000000018c4', '--add-label-ids', 'STARRED', '--remove-label-ids', 'UNREAD'],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/gmail/v1/users/me/messages/00000000000018c4/modify',
        json: { addLabelIds: ['STARRED'], removeLabelIds: ['UNREAD'] },
      },
    },
    list_labels: {
      args: () => [],
      expect: { host: 'api', method: 'GET', path: '/gmail/v1/users/me/labels' },
      output: (out) => expect((JSON.parse(out) as { labels: unknown[] }).labels.length).toBeGreaterThan(3),
    },
    create_label: {
      args: () => [
        '--name',
        'Travel',
        '--label-list-visibility',
        'labelShow',
        '--message-list-visibility',
        'show',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/gmail/v1/users/me/labels',
        json: { name: 'Travel', labelListVisibility: 'labelShow', messageListVisibility: 'show' },
      },
    },
    list_threads: {
      args: () => [
        '--max-results',
        '2',
        '--q',
        'is:unread',
        '--label-ids',
        'INBOX',
        '--include-spam-trash',
        '--page-token',
        'MA',
      ],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/gmail/v1/users/me/threads',
        query: {
          maxResults: '2',
          q: 'is:unread',
          labelIds: ['INBOX'],
          includeSpamTrash: 'true',
          pageToken: 'MA',
        },
      },
    },
    get_thread: {
      args: () => ['--id', '00000000000018c0', '--format', 'metadata', '--metadata-headers', 'Subject'],
      expect: {
        host: 'api',
        method: 'GET',
        path: '/gmail/v1/users/me/threads/00000000000018c0',
        query: { format: 'metadata', metadataHeaders: ['Subject'] },
      },
    },
  },
  idempotent: { endpoint: 'list_labels', args: [] },
  everyHost: [{ endpoint: 'get_profile', args: () => [] }],
  nonIdempotent: {
    endpoint: 'send_message',
    args: ['--raw-message', Buffer.from('To: bob@example.com\r\n\r\nx').toString('base64url')],
  },
  pagination: {
    list_messages: { args: () => ['--max-results', '2'], items: 7, minPages: 4 },
    list_threads: { args: () => ['--max-results', '1'], items: 5, minPages: 5 },
  },
};

const dropbox: ConnectorCase = {
  connector: 'dropbox',
  async start(dir) {
    const emulator: DropboxEmulator = await startDropboxEmulator();
    for (let i = 1; i <= 5; i++) emulator.addFile(`/Photos/img${i}.jpg`, Buffer.from(`jpg ${i}`));
    return {
      hosts: { api: emulator.api, content: emulator.content },
      env: emulatorEnv({ dropbox: emulator }),
      token: emulator.token,
      dir,
      close: () => emulator.close(),
    };
  },
  endpoints: {
    get_current_account: {
      args: () => [],
      expect: { host: 'api', method: 'POST', path: '/2/users/get_current_account', body: '' },
      output: (out) => expectJson(out, { email: 'ann@example.com' }),
    },
    list_folder: {
      args: () => [
        '--path',
        '/',
        '--page-size',
        '100',
        '--recursive',
        '--include-deleted',
        '--include-has-explicit-shared-members',
        '--include-mounted-folders',
        '--include-non-downloadable-files',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/2/files/list_folder',
        json: {
          path: '',
          limit: 100,
          recursive: true,
          include_deleted: true,
          include_has_explicit_shared_members: true,
          include_mounted_folders: true,
          include_non_downloadable_files: true,
        },
        headers: { 'content-type': 'application/json' },
      },
      output: (out) => expectJson(out, { has_more: false }),
    },
    list_folder_continue: {
      async args(w) {
        const first = await dropboxRpc(w, 'files/list_folder', { path: '/Photos', limit: 2 });
        return ['--cursor', String(first.cursor)];
      },
      expect: { host: 'api', method: 'POST', path: '/2/files/list_folder/continue' },
      output: (out) => expectJson(out, { has_more: true }),
    },
    get_metadata: {
      args: () => [
        '--path',
        '/Documents/report.pdf',
        '--include-deleted',
        '--include-has-explicit-shared-members',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/2/files/get_metadata',
        json: {
          path: '/Documents/report.pdf',
          include_deleted: true,
          include_has_explicit_shared_members: true,
        },
      },
      output: (out) => expectJson(out, { '.tag': 'file', name: 'report.pdf' }),
    },
    create_folder: {
      args: () => ['--path', '/New Folder', '--autorename'],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/2/files/create_folder_v2',
        json: { path: '/New Folder', autorename: true },
      },
    },
    delete: {
      async args(w) {
        const { rev } = await dropboxRpc(w, 'files/get_metadata', { path: '/readme.md' });
        return ['--path', '/readme.md', '--parent-rev', String(rev)];
      },
      expect: {
        host: 'api',
        method: 'POST',
        path: '/2/files/delete_v2',
        json: { path: '/readme.md', parent_rev: expect.stringMatching(/^0[0-9a-f]+$/) as unknown },
      },
    },
    move: {
      args: () => [
        '--from-path',
        '/Documents/notes.txt',
        '--to-path',
        '/notes.txt',
        '--autorename',
        '--allow-ownership-transfer',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/2/files/move_v2',
        json: {
          from_path: '/Documents/notes.txt',
          to_path: '/notes.txt',
          autorename: true,
          allow_ownership_transfer: true,
        },
      },
    },
    copy: {
      args: () => [
        '--from-path',
        '/Documents/report.pdf',
        '--to-path',
        '/report copy.pdf',
        '--autorename',
        '--allow-ownership-transfer',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/2/files/copy_v2',
        json: {
          from_path: '/Documents/report.pdf',
          to_path: '/report copy.pdf',
          autorename: true,
          allow_ownership_transfer: true,
        },
      },
    },
    search: {
      args: () => [
        '--query',
        'img',
        '--path',
        '/Photos',
        '--max-results',
        '10',
        '--filename-only',
        '--file-status',
        'active',
        '--file-extensions',
        'jpg',
        '--order-by',
        'relevance',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/2/files/search_v2',
        json: {
          query: 'img',
          options: {
            path: '/Photos',
            max_results: 10,
            filename_only: true,
            file_status: 'active',
            file_extensions: ['jpg'],
            order_by: 'relevance',
          },
        },
      },
      output: (out) => expect((JSON.parse(out) as { matches: unknown[] }).matches).toHaveLength(5),
    },
    search_continue: {
      async args(w) {
        const first = await dropboxRpc(w, 'files/search_v2', { query: 'img', options: { max_results: 2 } });
        return ['--cursor', String(first.cursor)];
      },
      expect: { host: 'api', method: 'POST', path: '/2/files/search/continue_v2' },
    },
    upload: {
      args: (w) => [
        '--path',
        '/Documents/Résumé 日本.txt',
        '--mode',
        'overwrite',
        '--autorename',
        '--mute',
        '--strict-conflict',
        '--file',
        file(w, 'resume.txt', 'curriculum vitae'),
      ],
      expect: {
        host: 'content',
        method: 'POST',
        path: '/2/files/upload',
        headers: {
          'dropbox-api-arg':
            '{"path":"/Documents/R\\u00e9sum\\u00e9 \\u65e5\\u672c.txt","mode":"overwrite","autorename":true,"mute":true,"strict_conflict":true}',
          'content-type': 'application/octet-stream',
        },
        body: 'curriculum vitae',
      },
      output: (out) => expectJson(out, { name: 'Résumé 日本.txt', size: 16 }),
    },
    upload_session_start: {
      args: (w) => ['--close', '--file', file(w, 'chunk0.bin', Buffer.alloc(4 * 1024 * 1024, 1))],
      expect: {
        host: 'content',
        method: 'POST',
        path: '/2/files/upload_session/start',
        headers: { 'dropbox-api-arg': '{"close":true}' },
      },
    },
    upload_session_append: {
      async args(w) {
        const started = await fetch(`${w.hosts.content?.url ?? ''}/2/files/upload_session/start`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${w.token}`,
            'dropbox-api-arg': '{}',
            'content-type': 'application/octet-stream',
          },
          body: Buffer.alloc(4 * 1024 * 1024, 1),
        });
        const { session_id } = (await started.json()) as { session_id: string };
        return [
          '--cursor',
          JSON.stringify({ session_id, offset: 4 * 1024 * 1024 }),
          '--close',
          '--file',
          file(w, 'chunk1.bin', Buffer.alloc(4 * 1024 * 1024, 2)),
        ];
      },
      expect: {
        host: 'content',
        method: 'POST',
        path: '/2/files/upload_session/append_v2',
        headers: {
          'dropbox-api-arg':
            /^\{"cursor":\{"session_id":"pid_upload_session:[^"]+","offset":4194304\},"close":true\}$/,
        },
      },
    },
    upload_session_finish: {
      async args(w) {
        const started = await fetch(`${w.hosts.content?.url ?? ''}/2/files/upload_session/start`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${w.token}`,
            'dropbox-api-arg': '{"close":true}',
            'content-type': 'application/octet-stream',
          },
          body: 'part one,',
        });
        const { session_id } = (await started.json()) as { session_id: string };
        return [
          '--cursor',
          JSON.stringify({ session_id, offset: 9 }),
          '--commit',
          JSON.stringify({ path: '/Documents/joined.txt', mode: 'add' }),
          '--file',
          file(w, 'last.txt', ' part two'),
        ];
      },
      expect: { host: 'content', method: 'POST', path: '/2/files/upload_session/finish' },
      output: (out) => expectJson(out, { name: 'joined.txt', size: 18 }),
    },
    download: {
      async args(w) {
        const { rev } = await dropboxRpc(w, 'files/get_metadata', { path: '/Documents/report.pdf' });
        return ['--path', '/Documents/report.pdf', '--rev', String(rev)];
      },
      expect: {
        host: 'content',
        method: 'POST',
        path: '/2/files/download',
        headers: { 'dropbox-api-arg': /^\{"path":"\/Documents\/report\.pdf","rev":"0[0-9a-f]+"\}$/ },
        body: '',
      },
      output: (out, err) => {
        expect(out).toBe('%PDF-1.7 report');
        expect(err).toContain('Dropbox-API-Result: {".tag":"file","name":"report.pdf"');
      },
    },
    get_temporary_link: {
      args: () => ['--path', '/Documents/report.pdf'],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/2/files/get_temporary_link',
        json: { path: '/Documents/report.pdf' },
      },
    },
    create_shared_link: {
      args: () => [
        '--path',
        '/Documents/report.pdf',
        '--audience',
        'public',
        '--access',
        'viewer',
        '--allow-download',
        '--expires',
        '2026-12-31T00:00:00Z',
        '--require-password',
        '--link-password',
        'correct horse',
      ],
      expect: {
        host: 'api',
        method: 'POST',
        path: '/2/sharing/create_shared_link_with_settings',
        json: {
          path: '/Documents/report.pdf',
          settings: {
            audience: 'public',
            access: 'viewer',
            allow_download: true,
            expires: '2026-12-31T00:00:00Z',
            require_password: true,
            link_password: 'correct horse',
          },
        },
      },
    },
    list_shared_links: {
      async args(w) {
        const first = await dropboxRpc(w, 'sharing/list_shared_links', { path: '/Documents/report.pdf' });
        return ['--path', '/Documents/report.pdf', '--cursor', String(first.cursor), '--direct-only'];
      },
      expect: {
        host: 'api',
        method: 'POST',
        path: '/2/sharing/list_shared_links',
        json: { path: '/Documents/report.pdf', cursor: expect.any(String) as unknown, direct_only: true },
      },
    },
  },
  idempotent: { endpoint: 'get_metadata', args: ['--path', '/Documents/report.pdf'] },
  everyHost: [
    { endpoint: 'get_metadata', args: () => ['--path', '/Documents/report.pdf'] },
    { endpoint: 'download', args: () => ['--path', '/Documents/report.pdf'] },
  ],
  nonIdempotent: { endpoint: 'create_folder', args: ['--path', '/Once'] },
  pagination: {
    list_folder: { args: () => ['--path', '/Photos', '--page-size', '2'], items: 5, minPages: 3 },
    search: { args: () => ['--query', 'img', '--max-results', '2'], items: 5, minPages: 3 },
  },
};

const onedrive: ConnectorCase = {
  connector: 'onedrive',
  async start(dir) {
    const emulator: GraphEmulator = await startGraphEmulator();
    const photos = [...emulator.items.values()].find((i) => i.name === 'Photos');
    for (let i = 1; i <= 5; i++) emulator.addFile(photos?.id ?? '', `img${i}.jpg`, Buffer.from(`jpg ${i}`));
    return {
      hosts: { graph: emulator.graph, uploads: emulator.uploads, downloads: emulator.downloads },
      env: emulatorEnv({ graph: emulator }),
      token: emulator.token,
      dir,
      close: () => emulator.close(),
    };
  },
  endpoints: {
    get_me: {
      args: () => ['--select', 'id,userPrincipalName'],
      expect: { host: 'graph', method: 'GET', path: '/v1.0/me', query: { $select: 'id,userPrincipalName' } },
      output: (out) => expectJson(out, { userPrincipalName: 'ann@example.com' }),
    },
    get_drive: {
      args: () => ['--select', 'id,driveType'],
      expect: { host: 'graph', method: 'GET', path: '/v1.0/me/drive', query: { $select: 'id,driveType' } },
    },
    list_root_children: {
      args: () => ['--top', '10', '--orderby', 'name asc', '--select', 'id,name', '--expand', 'thumbnails'],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me/drive/root/children',
        query: { $top: '10', $orderby: 'name asc', $select: 'id,name', $expand: 'thumbnails' },
      },
      output: (out) => expect((JSON.parse(out) as { value: unknown[] }).value).toHaveLength(3),
    },
    list_children: {
      args: () => [
        '--item-id',
        '01ITEM0001',
        '--top',
        '10',
        '--select',
        'id,name',
        '--orderby',
        'name desc',
        '--expand',
        'thumbnails',
      ],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me/drive/items/01ITEM0001/children',
        query: { $top: '10', $select: 'id,name', $orderby: 'name desc', $expand: 'thumbnails' },
      },
    },
    list_children_by_path: {
      args: () => [
        '--path',
        '/Documents/',
        '--top',
        '10',
        '--select',
        'id,name',
        '--orderby',
        'name asc',
        '--expand',
        'thumbnails',
      ],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me/drive/root:/Documents:/children',
        query: { $top: '10', $select: 'id,name', $orderby: 'name asc', $expand: 'thumbnails' },
      },
      output: (out) => expect((JSON.parse(out) as { value: unknown[] }).value).toHaveLength(2),
    },
    get_item: {
      args: () => ['--item-id', '01ITEM0003', '--select', 'id,name', '--expand', 'thumbnails'],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me/drive/items/01ITEM0003',
        query: { $select: 'id,name', $expand: 'thumbnails' },
      },
      output: (out) => expect(JSON.parse(out)).toEqual({ id: '01ITEM0003', name: 'report.txt' }),
    },
    get_item_by_path: {
      args: () => ['--path', "Documents/Ann's notes.txt", '--select', 'id,name', '--expand', 'thumbnails'],
      expect: {
        host: 'graph',
        method: 'GET',
        path: "/v1.0/me/drive/root:/Documents/Ann's%20notes.txt",
        query: { $select: 'id,name', $expand: 'thumbnails' },
      },
      output: (out) => expectJson(out, { name: "Ann's notes.txt" }),
    },
    create_folder: {
      args: () => ['--name', 'Reports 2026', '--conflict-behavior', 'rename'],
      expect: {
        host: 'graph',
        method: 'POST',
        path: '/v1.0/me/drive/items/root/children',
        json: { name: 'Reports 2026', folder: {}, '@microsoft.graph.conflictBehavior': 'rename' },
      },
      output: (out) => expectJson(out, { name: 'Reports 2026', folder: { childCount: 0 } }),
    },
    upload: {
      args: (w) => [
        '--parent-id',
        '01ITEM0001',
        '--filename',
        'hello world.txt',
        '--conflict-behavior',
        'fail',
        '--file',
        file(w, 'hello.txt', 'hello graph'),
      ],
      expect: {
        host: 'graph',
        method: 'PUT',
        path: '/v1.0/me/drive/items/01ITEM0001:/hello%20world.txt:/content',
        query: { '@microsoft.graph.conflictBehavior': 'fail' },
        headers: { 'content-type': 'application/octet-stream' },
        body: 'hello graph',
      },
      output: (out) => expectJson(out, { name: 'hello world.txt', size: 11 }),
    },
    create_upload_session: {
      args: () => ['--filename', 'big.bin', '--conflict-behavior', 'replace'],
      expect: {
        host: 'graph',
        method: 'POST',
        path: '/v1.0/me/drive/items/root:/big.bin:/createUploadSession',
        json: { item: { '@microsoft.graph.conflictBehavior': 'replace' } },
      },
      output: (out) => expect(JSON.parse(out)).toHaveProperty('uploadUrl'),
    },
    download: {
      args: () => ['--item-id', '01ITEM0003'],
      expect: { host: 'graph', method: 'GET', path: '/v1.0/me/drive/items/01ITEM0003/content' },
      output: (out) => expect(out).toBe('quarterly report\n'),
    },
    download_by_path: {
      args: () => ['--path', 'Documents/report.txt'],
      expect: { host: 'graph', method: 'GET', path: '/v1.0/me/drive/root:/Documents/report.txt:/content' },
      output: (out) => expect(out).toBe('quarterly report\n'),
    },
    search: {
      args: () => ['--q', "Ann's", '--top', '5', '--select', 'id,name'],
      // Inside the OData string literal the quote is doubled.
      expect: {
        host: 'graph',
        method: 'GET',
        path: "/v1.0/me/drive/root/search(q='Ann''s')",
        query: { $top: '5', $select: 'id,name' },
      },
      output: (out) =>
        expect((JSON.parse(out) as { value: { name: string }[] }).value.map((v) => v.name)).toEqual([
          "Ann's notes.txt",
        ]),
    },
    delete: {
      args: () => ['--item-id', '01ITEM0005', '--if-match', '"i6,1"'],
      expect: {
        host: 'graph',
        method: 'DELETE',
        path: '/v1.0/me/drive/items/01ITEM0005',
        headers: { 'if-match': '"i6,1"' },
      },
    },
    move: {
      args: () => [
        '--item-id',
        '01ITEM0004',
        '--parent-id',
        '01ITEM0002',
        '--name',
        'moved.txt',
        '--conflict-behavior',
        'fail',
      ],
      expect: {
        host: 'graph',
        method: 'PATCH',
        path: '/v1.0/me/drive/items/01ITEM0004',
        query: { '@microsoft.graph.conflictBehavior': 'fail' },
        json: { parentReference: { id: '01ITEM0002' }, name: 'moved.txt' },
      },
    },
    copy: {
      args: () => [
        '--item-id',
        '01ITEM0003',
        '--parent-id',
        '01ITEM0002',
        '--drive-id',
        'b!drive',
        '--name',
        'copy.txt',
        '--conflict-behavior',
        'rename',
      ],
      expect: {
        host: 'graph',
        method: 'POST',
        path: '/v1.0/me/drive/items/01ITEM0003/copy',
        query: { '@microsoft.graph.conflictBehavior': 'rename' },
        json: { parentReference: { id: '01ITEM0002', driveId: 'b!drive' }, name: 'copy.txt' },
      },
      output: (out) =>
        expect(JSON.parse(out)).toMatchObject({
          status: 202,
          location: expect.stringContaining('/monitor/') as unknown,
        }),
    },
  },
  idempotent: { endpoint: 'get_drive', args: [] },
  everyHost: [
    // Through a 302 to the pre-authenticated download host.
    { endpoint: 'download', args: () => ['--item-id', '01ITEM0003'] },
    // Over the 4 MiB threshold: an upload session, whose chunks go to the upload host.
    {
      endpoint: 'upload',
      args: (w) => [
        '--filename',
        'session.bin',
        '--file',
        file(w, 'session.bin', Buffer.alloc(4 * 1024 * 1024 + 1, 7)),
      ],
    },
  ],
  nonIdempotent: { endpoint: 'create_folder', args: ['--name', 'Once'] },
  pagination: {
    list_root_children: { args: () => ['--top', '1'], items: 3, minPages: 3 },
    list_children: { args: () => ['--item-id', '01ITEM0002', '--top', '2'], items: 5, minPages: 3 },
    list_children_by_path: { args: () => ['--path', 'Photos', '--top', '2'], items: 5, minPages: 3 },
    search: { args: () => ['--q', 'img', '--top', '2'], items: 5, minPages: 3 },
  },
};

function expectJson(stdout: string, subset: Record<string, unknown>): void {
  expect(JSON.parse(stdout)).toMatchObject(subset);
}

export const CASES: readonly ConnectorCase[] = [
  dropbox,
  gmail,
  onedrive,
  github,
  outlook,
  gcal,
  gdrive,
  slack,
];

/** Requests a host's emulator received, with their bearer token checked by the caller. */
export function requestsOn(world: World, host: string): RecordedRequest[] {
  return world.hosts[host]?.requests ?? [];
}
