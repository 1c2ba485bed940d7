import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../../src/server/store/api-keys.js';
import { createConnection } from '../../../src/server/store/connections.js';
import { getCredential, putCredential } from '../../../src/server/store/credentials.js';
import { openServerStore } from '../../../src/server/store/open.js';
import { ensureProject } from '../../../src/server/store/projects.js';
import { tempHome } from '../../helpers/home.js';
import { startPostgres } from '../../helpers/postgres.js';
import type { PostgresServer } from '../../helpers/postgres.js';
import { memorySecrets, newKey, POSTGRES, variantTitle } from '../../helpers/server-store.js';
import { rejection } from '../../helpers/rejection.js';

/** How many migrations the package ships (drizzle-kit's journal). */
function journalEntries(): number {
  const journal = JSON.parse(
    readFileSync(
      join(import.meta.dirname, '../../../src/server/store/migrations/meta/_journal.json'),
      'utf8',
    ),
  ) as { entries: unknown[] };
  return journal.entries.length;
}

const DIST_DB = join(import.meta.dirname, '../../../dist/server/store/db.js');

/** Another process holding the PGlite database of `dataDir` open (the built code), until killed. */
function holder(dataDir: string): {
  child: ChildProcessWithoutNullStreams;
  result: Promise<{ code: number | null; err: string }>;
  ready: Promise<void>;
} {
  const script = `
    const { openDatabase } = await import(${JSON.stringify(DIST_DB)});
    try {
      await openDatabase({ env: {}, dataDir: ${JSON.stringify(dataDir)} });
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);
    } catch (e) {
      process.stderr.write(e.message + '\\n');
      process.exit(5);
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', () => {
      reject(new Error(`holder exited: ${err}`));
    });
  });
  const result = new Promise<{ code: number | null; err: string }>((resolve) => {
    child.once('exit', (code) => {
      resolve({ code, err });
    });
  });
  ready.catch(() => undefined);
  return { child, result, ready };
}

describe('PGlite: one process per directory, and a generated key kept in the credential store', () => {
  it('refuses a second server process, naming the directory, and takes over once the holder is gone', async () => {
    const home = tempHome();
    const first = holder(home.dir);
    try {
      await first.ready;
      const dir = join(home.dir, 'server', 'pglite');
      const error = await rejection(
        openServerStore({
          env: { CONNECTR_ENCRYPTION_KEY: newKey() },
          dataDir: home.dir,
          secrets: memorySecrets(),
        }),
      );
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain(dir);
      expect(error.message).toContain(`process ${first.child.pid ?? ''}`);
      expect(error.hint).toContain('DATABASE_URL');
      const second = holder(home.dir);
      const { code, err } = await second.result;
      expect(code).toBe(5);
      expect(err).toContain('already in use');
      // The holder dies without cleaning up: its lock is stale, and the next server starts.
      first.child.kill('SIGKILL');
      await first.result;
      const store = await openServerStore({
        env: { CONNECTR_ENCRYPTION_KEY: newKey() },
        dataDir: home.dir,
        secrets: memorySecrets(),
      });
      await store.readiness.ready();
      await store.close();
    } finally {
      first.child.kill('SIGKILL');
      home.cleanup();
    }
  }, 120_000);

  it('creates its key once, keeps it, and reads with it after a key of the user’s own takes over', async () => {
    const home = tempHome();
    const secrets = memorySecrets();
    const notices: string[] = [];
    const open = (env: Record<string, string> = {}) =>
      openServerStore({ env, dataDir: home.dir, secrets, notify: (m) => notices.push(m) });
    try {
      let store = await open();
      expect(secrets.entries.size).toBe(1);
      expect(notices).toHaveLength(1);
      expect(notices[0]).toContain('test memory');
      const { project } = await ensureProject(store.db, 'default');
      const conn = await createConnection(store.db, { projectId: project.id, connector: 'gmail', name: 'x' });
      await putCredential(store.db, store.keys, {
        projectId: project.id,
        connectionId: conn.id,
        secret: 'tok',
      });
      const firstId = store.keys.currentId;
      await store.close();
      store = await open();
      expect(store.keys.currentId).toBe(firstId);
      expect(notices).toHaveLength(1);
      expect((await getCredential(store.db, store.keys, project.id, conn.id))?.secret).toBe('tok');
      await store.close();
      store = await open({ CONNECTR_ENCRYPTION_KEY: newKey() });
      expect(store.keys.currentId).not.toBe(firstId);
      expect((await getCredential(store.db, store.keys, project.id, conn.id))?.secret).toBe('tok');
      await store.close();
    } finally {
      home.cleanup();
    }
  }, 120_000);
});

describe.skipIf(POSTGRES.skip !== undefined)(`PostgreSQL start-up on ${variantTitle(POSTGRES)}`, () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server.destroy();
  });
  const secrets = memorySecrets();

  it('two servers starting together on an empty database both start, and migrate it once', async () => {
    const url = await server.createDatabase();
    const env = { DATABASE_URL: url, CONNECTR_ENCRYPTION_KEY: newKey() };
    const home = tempHome();
    try {
      const stores = await Promise.all(
        [0, 1, 2].map(() => openServerStore({ env, dataDir: home.dir, secrets })),
      );
      for (const s of stores) await s.readiness.ready();
      const [first] = stores;
      const rows = await first?.database.query<{ n: string }>(
        'select count(*) as n from drizzle.__drizzle_migrations',
      );
      // Each migration once, though three servers raced to apply them.
      expect(Number(rows?.[0]?.n)).toBe(journalEntries());
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      home.cleanup();
    }
  });

  it('refuses to start without an encryption key, before connecting, saying how to make one', async () => {
    const error = await rejection(
      openServerStore({
        env: { DATABASE_URL: 'postgres://u:hunter2@127.0.0.1:1/db' },
        dataDir: '/nonexistent',
        secrets,
      }),
    );
    expect(error.code).toBe('invalid_input');
    expect(error.message).toContain('CONNECTR_ENCRYPTION_KEY');
    expect(error.hint).toContain('openssl rand -base64 32');
    expect(secrets.entries.size).toBe(0);
  });

  it('an unreachable or malformed DATABASE_URL is a clear error that never shows the password', async () => {
    const env = { CONNECTR_ENCRYPTION_KEY: newKey(), CONNECTR_DB_CONNECT_TIMEOUT_MS: '2000' };
    const down = await rejection(
      openServerStore({
        env: { ...env, DATABASE_URL: 'postgres://u:hunter2@127.0.0.1:1/db' },
        dataDir: '/nonexistent',
        secrets,
      }),
    );
    expect(down.code).toBe('unavailable');
    expect(down.message).toContain('127.0.0.1:1/db');
    expect(down.message).not.toContain('hunter2');
    expect(down.hint).toContain('PostgreSQL is running');
    const missing = await rejection(
      openServerStore({
        env: { ...env, DATABASE_URL: server.url.replace(/\/postgres$/, '/nope') },
        dataDir: '/x',
        secrets,
      }),
    );
    expect(missing.hint).toContain('createdb');
    for (const bad of ['mysql://x@h/db', 'not a url']) {
      const error = await rejection(
        openServerStore({ env: { ...env, DATABASE_URL: bad }, dataDir: '/x', secrets }),
      );
      expect(error.code).toBe('invalid_input');
      expect(error.hint).toContain('postgres://');
    }
  });

  it('says unavailable while the database is down, and works again once it is back', async () => {
    const url = await server.createDatabase();
    const home = tempHome();
    const store = await openServerStore({
      env: { DATABASE_URL: url, CONNECTR_ENCRYPTION_KEY: newKey(), CONNECTR_DB_CONNECT_TIMEOUT_MS: '2000' },
      dataDir: home.dir,
      secrets,
    });
    try {
      const { project } = await ensureProject(store.db, 'default');
      const key = await createApiKey(store.db, { projectId: project.id, name: 'k' });
      await server.stop();
      expect((await rejection(store.readiness.ready())).code).toBe('unavailable');
      expect((await rejection(store.apiKeys.verify(key.secret))).code).toBe('unavailable');
      await server.start();
      await store.readiness.ready();
      expect(await store.apiKeys.verify(key.secret)).toBeDefined();
    } finally {
      await server.start();
      await store.close();
      home.cleanup();
    }
  });
});
