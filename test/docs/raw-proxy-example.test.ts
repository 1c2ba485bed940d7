import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { buildApp } from '../../src/server/app.js';
import { depsOf } from '../../src/server/contracts.js';
import { createApiKey } from '../../src/server/store/api-keys.js';
import { createConnection } from '../../src/server/store/connections.js';
import { putCredential } from '../../src/server/store/credentials.js';
import { openServerStore } from '../../src/server/store/open.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import type { App } from '../../src/server/types.js';
import { startDropboxEmulator } from '../fixtures/emulators/dropbox.js';
import type { DropboxEmulator } from '../fixtures/emulators/dropbox.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { startGraphEmulator } from '../fixtures/emulators/graph.js';
import type { GraphEmulator } from '../fixtures/emulators/graph.js';
import type { FreshBackend } from '../helpers/server-store.js';
import { PGLITE, memorySecrets, newKey } from '../helpers/server-store.js';
import { listenOnLoopback } from '../server/helpers.js';

/**
 * docs/server.md's raw-proxy example, run as written (with curl) against a daemon whose Gmail,
 * Dropbox and Microsoft Graph are the emulators: what the docs promise a reader works.
 */

const root = join(import.meta.dirname, '../..');

/** The first ```sh block under `### Raw proxy`, as its commands (continuation lines joined). */
function rawProxyExample(): string[] {
  const markdown = readFileSync(join(root, 'docs/server.md'), 'utf8');
  const section = markdown.slice(markdown.indexOf('\n### Raw proxy\n'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
}

describe('the raw-proxy example of docs/server.md', () => {
  let backend: FreshBackend;
  let store: OpenedServerStore;
  let app: App;
  let base = '';
  let key = '';
  let gmail: GmailEmulator;
  let dropbox: DropboxEmulator;
  let graph: GraphEmulator;
  const ids: Record<string, string> = {};
  const dir = mkdtempSync(join(tmpdir(), 'connectr-proxy-doc-'));

  beforeAll(async () => {
    gmail = await startGmailEmulator({ acceptToken: (t) => t === 'gmail-token' });
    dropbox = await startDropboxEmulator({ token: 'dropbox-token' });
    graph = await startGraphEmulator({ token: 'graph-token' });
    dropbox.addFile('/report.pdf', Buffer.from('%PDF-1.7 the report'));
    backend = await PGLITE.fresh();
    store = await openServerStore({
      env: { ...backend.env, CONNECTR_ENCRYPTION_KEY: newKey() },
      dataDir: backend.dataDir,
      secrets: memorySecrets(),
    });
    const projectId = (await ensureProject(store.db, 'default')).project.id;
    key = (await createApiKey(store.db, { projectId, name: 'docs' })).secret;
    for (const [connector, token] of [
      ['gmail', 'gmail-token'],
      ['dropbox', 'dropbox-token'],
      ['onedrive', 'graph-token'],
    ] as const) {
      const connection = await createConnection(store.db, { projectId, connector, name: connector });
      await putCredential(store.db, store.keys, {
        projectId,
        connectionId: connection.id,
        secret: { access_token: token, token_type: 'Bearer', scopes: [] },
        expiresAt: null,
      });
      ids[connector] = connection.id;
    }
    app = await buildApp(
      depsOf(store, await loadRegistry(), {
        CONNECTR_GMAIL_API_BASE_URL: gmail.url,
        CONNECTR_DROPBOX_API_BASE_URL: dropbox.api.url,
        CONNECTR_DROPBOX_CONTENT_BASE_URL: dropbox.content.url,
        CONNECTR_ONEDRIVE_GRAPH_BASE_URL: graph.baseUrl,
      }),
    );
    base = await listenOnLoopback(app);
  }, 60_000);

  afterAll(async () => {
    await app.close();
    await store.close();
    await Promise.all([gmail.close(), dropbox.close(), graph.close()]);
    backend.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('downloads, uploads and reads as the docs say, each command as written', async () => {
    const lines = rawProxyExample();
    const setup = lines.filter((line) => !line.startsWith('curl'));
    const commands = lines.filter((line) => line.startsWith('curl'));
    expect(setup.join('\n')).toContain('API=http://127.0.0.1:5000/api/v1');
    expect(commands).toHaveLength(3);
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a);
    writeFileSync(join(dir, 'big.iso'), big);
    // Asynchronously: the daemon answering curl runs in this process.
    const run = (command: string, id: string): Promise<string> => {
      const script = [...setup.map((l) => l.replace('http://127.0.0.1:5000', base)), command].join('\n');
      return new Promise((resolve, reject) => {
        execFile(
          'bash',
          ['-euo', 'pipefail', '-c', script],
          {
            cwd: dir,
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CONNECTR_API_KEY: key, ID: id },
            encoding: 'utf8',
            timeout: 30_000,
          },
          (error, stdout, stderr) => {
            if (error) reject(new Error(`${command}\n${stderr}`, { cause: error }));
            else resolve(stdout);
          },
        );
      });
    };
    const [profile, download, upload] = commands as [string, string, string];

    expect(profile).toContain('gmail/v1/users/me/profile');
    expect(JSON.parse(await run(profile, ids.gmail ?? ''))).toMatchObject({
      emailAddress: expect.any(String) as unknown,
    });

    expect(download).toContain('2/files/download');
    await run(download, ids.dropbox ?? '');
    expect(readFileSync(join(dir, 'report.pdf'), 'utf8')).toBe('%PDF-1.7 the report');

    expect(upload).toContain('me/drive/root:/big.iso:/content');
    await run(upload, ids.onedrive ?? '');
    const stored = [...graph.items.values()].find((item) => item.name === 'big.iso');
    expect(stored?.size).toBe(big.length);
    expect(stored?.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    // The upload went through the proxy: the bearer token was added there, never by curl.
    const put = graph.graph.requests.find((r) => r.method === 'PUT');
    expect(put?.headers.authorization).toBe('Bearer graph-token');
  });

  it('HEAD on an item through the proxy answers as GET, without a body', async () => {
    const url = `${base}/api/v1/connections/${ids.onedrive ?? ''}/proxy/me/drive/root:/big.iso`;
    const headers = { authorization: `Bearer ${key}` };
    const get = await fetch(url, { headers });
    expect(get.status).toBe(200);
    const length = (await get.arrayBuffer()).byteLength;
    const head = await fetch(url, { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(length));
    expect(head.headers.get('x-connectr-error')).toBeNull();
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });
});
