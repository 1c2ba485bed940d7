import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRing } from '../../../src/server/crypto.js';
import { createApiKey, listApiKeys, revokeApiKey, verifyApiKey } from '../../../src/server/store/api-keys.js';
import {
  createConnection,
  deleteConnection,
  getConnection,
  listConnections,
  updateConnection,
} from '../../../src/server/store/connections.js';
import { getCredential, putCredential } from '../../../src/server/store/credentials.js';
import { checkReady, knownMigrations } from '../../../src/server/store/db.js';
import { getOAuthApp, putOAuthApp } from '../../../src/server/store/oauth-apps.js';
import { consumeOAuthSession, createOAuthSession } from '../../../src/server/store/oauth-sessions.js';
import { openServerStore, pgliteKeyEntry } from '../../../src/server/store/open.js';
import type { OpenedServerStore } from '../../../src/server/store/open.js';
import { ensureProject } from '../../../src/server/store/projects.js';
import { rotateEncryption } from '../../../src/server/store/rotate.js';
import {
  createEndpoint,
  requireEndpoint,
  rotateSecret,
  signingSecrets,
} from '../../../src/server/store/webhooks.js';
import { credentials } from '../../../src/server/store/schema.js';
import { postgresBinDir } from '../../helpers/postgres.js';
import type { FreshBackend } from '../../helpers/server-store.js';
import { BACKENDS, CacheClock, memorySecrets, newKey, variantTitle } from '../../helpers/server-store.js';
import { rejection } from '../../helpers/rejection.js';

/** Every file under a directory, as bytes (the PGlite database as it sits on disk). */
function filesUnder(dir: string): Buffer[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f));
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`server store on ${variantTitle(variant)}`, () => {
    let backend: FreshBackend;
    let store: OpenedServerStore;
    const secrets = memorySecrets();
    const key = newKey();
    const clock = new CacheClock();
    const open = (env: Record<string, string> = {}): Promise<OpenedServerStore> =>
      openServerStore({
        env: { ...backend.env, CONNECTR_ENCRYPTION_KEY: key, ...env },
        dataDir: backend.dataDir,
        secrets,
        now: clock.now,
      });

    beforeAll(async () => {
      // Not the run's migrated template: the migrations themselves are under test.
      backend = await variant.fresh({ empty: true });
      store = await open();
    });
    afterAll(async () => {
      await store.close();
      backend.cleanup();
    });

    it('applies the migrations to an empty database, and reopening applies nothing', async () => {
      expect(store.backend).toBe(variant.name);
      await store.readiness.ready();
      const tables = await store.database.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_schema = 'public' order by 1",
      );
      expect(tables.map((t) => t.table_name)).toEqual([
        'api_keys',
        'call_logs',
        'connect_sessions',
        'connect_settings',
        'connections',
        'console_sessions',
        'credentials',
        'oauth_apps',
        'oauth_sessions',
        'projects',
        'provider_subscriptions',
        'rate_limit_overrides',
        'rate_limit_state',
        'webhook_deliveries',
        'webhook_endpoints',
        'webhook_events',
      ]);
      const applied = () =>
        store.database.query<{ hash: string }>('select hash from drizzle.__drizzle_migrations order by id');
      const before = await applied();
      expect(before).toHaveLength(knownMigrations().count);
      if (variant.name === 'postgres') {
        // A second server on the same database (PGlite allows one process, tested below).
        const again = await open();
        await again.readiness.ready();
        await again.close();
      }
      expect(await applied()).toEqual(before);
    });

    it('is not ready while a migration is missing', async () => {
      const [last] = await store.database.query<{ id: number }>(
        'select id from drizzle.__drizzle_migrations order by created_at desc limit 1',
      );
      const rows = await store.database.query<{ hash: string; created_at: string }>(
        'delete from drizzle.__drizzle_migrations where id = $1 returning hash, created_at',
        [last?.id],
      );
      try {
        const error = await rejection(checkReady(store.database));
        expect(error.code).toBe('unavailable');
        expect(error.message).toContain('lacks migrations');
      } finally {
        await store.database.query(
          'insert into drizzle.__drizzle_migrations (hash, created_at) values ($1, $2)',
          [rows[0]?.hash, rows[0]?.created_at],
        );
      }
      await store.readiness.ready();
    });

    it('API keys: the created key verifies; a wrong, malformed or revoked one does not; only a hash is stored', async () => {
      const { project } = await ensureProject(store.db, 'keys-test');
      expect((await ensureProject(store.db, 'keys-test')).created).toBe(false);
      const created = await createApiKey(store.db, { projectId: project.id, name: 'ci', allowToken: true });
      expect(created.secret).toMatch(/^cnr_[a-z2-7]{8}_[A-Za-z0-9_-]{43}$/);
      expect(created.secret.startsWith(`cnr_${created.prefix}_`)).toBe(true);
      expect(await store.apiKeys.verify(created.secret)).toEqual({
        keyId: created.id,
        projectId: project.id,
        allowToken: true,
        scope: 'project',
      });
      const last = created.secret.at(-1) === 'A' ? 'B' : 'A';
      for (const wrong of [
        `${created.secret.slice(0, -1)}${last}`,
        created.secret.slice(0, -1),
        `${created.secret}x`,
        '',
        'Bearer x',
        `cnr_${created.prefix}`,
      ]) {
        expect(await store.apiKeys.verify(wrong)).toBeUndefined();
      }
      const listed = await listApiKeys(store.db, project.id);
      expect(listed).toHaveLength(1);
      expect(listed[0]?.lastUsedAt).toBeInstanceOf(Date);
      expect(JSON.stringify(listed)).not.toContain(created.secret.slice(14));
      // Revoked by prefix form `cnr_<prefix>` (as `serve keys revoke` does, on the database):
      // a running server trusts what it read for the cache time, then refuses the key.
      const { alreadyRevoked } = await revokeApiKey(store.db, `cnr_${created.prefix}`);
      expect(alreadyRevoked).toBe(false);
      expect(await store.apiKeys.verify(created.secret)).toBeDefined();
      clock.pass();
      expect(await store.apiKeys.verify(created.secret)).toBeUndefined();
      expect((await revokeApiKey(store.db, created.id)).alreadyRevoked).toBe(true);
      const missing = await rejection(revokeApiKey(store.db, `cnr_aaaaaaaa_${'s'.repeat(43)}`));
      expect(missing.code).toBe('not_found');
      expect(missing.message).not.toContain('sss');
      // The key is nowhere in the database: only its hash.
      const other = await createApiKey(store.db, { projectId: project.id, name: 'probe' });
      expect(await verifyApiKey(store.db, other.secret)).toBeDefined();
      const secretPart = other.secret.slice(14);
      if (variant.name === 'postgres') {
        const bin = postgresBinDir() ?? '';
        const dump = execFileSync(join(bin, 'pg_dump'), ['--dbname', backend.env.DATABASE_URL ?? ''], {
          encoding: 'utf8',
        });
        expect(dump).toContain(other.prefix);
        expect(dump).not.toContain(secretPart);
      } else {
        await store.close();
        const files = filesUnder(join(backend.dataDir, 'server', 'pglite'));
        expect(files.some((f) => f.includes(other.prefix))).toBe(true);
        expect(files.some((f) => f.includes(secretPart))).toBe(false);
        store = await open();
      }
    });

    it('scopes connections and credentials by project: another project gets not found', async () => {
      const a = (await ensureProject(store.db, 'a')).project;
      const b = (await ensureProject(store.db, 'b')).project;
      const conn = await createConnection(store.db, {
        projectId: a.id,
        connector: 'gmail',
        name: 'mine',
        userId: 'u1',
      });
      expect(conn.id).toMatch(/^conn_[a-z2-7]{26}$/);
      expect(conn.status).toBe('pending');
      await putCredential(store.db, store.keys, {
        projectId: a.id,
        connectionId: conn.id,
        secret: { access_token: 'tok-a' },
        expiresAt: new Date('2030-01-01T00:00:00Z'),
      });
      expect((await getCredential(store.db, store.keys, a.id, conn.id))?.secret).toEqual({
        access_token: 'tok-a',
      });
      expect(await getConnection(store.db, b.id, conn.id)).toBeUndefined();
      expect(await getCredential(store.db, store.keys, b.id, conn.id)).toBeUndefined();
      expect(await updateConnection(store.db, b.id, conn.id, { status: 'active' })).toBeUndefined();
      const put = await rejection(
        putCredential(store.db, store.keys, { projectId: b.id, connectionId: conn.id, secret: { x: 1 } }),
      );
      expect(put.code).toBe('not_found');
      expect((await listConnections(store.db, b.id)).items).toEqual([]);
      expect(await deleteConnection(store.db, b.id, conn.id)).toBe(false);
      expect((await getCredential(store.db, store.keys, a.id, conn.id))?.secret).toEqual({
        access_token: 'tok-a',
      });
      expect((await updateConnection(store.db, a.id, conn.id, { status: 'active' }))?.status).toBe('active');
      expect(await deleteConnection(store.db, a.id, conn.id)).toBe(true);
      expect(await getCredential(store.db, store.keys, a.id, conn.id)).toBeUndefined();
    });

    it('lists connections a page at a time, with filters, and refuses a forged cursor', async () => {
      const p = (await ensureProject(store.db, 'pages')).project;
      const base = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        // Two share a millisecond: the id breaks the tie.
        const at = new Date(base + Math.floor(i / 2));
        const row = await createConnection(
          store.db,
          {
            projectId: p.id,
            connector: i % 2 ? 'dropbox' : 'gmail',
            name: `c${i}`,
            userId: i < 3 ? 'u1' : 'u2',
          },
          at,
        );
        ids.push(row.id);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await listConnections(store.db, p.id, { limit: 2, cursor });
        seen.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect([...seen].sort()).toEqual([...ids].sort());
      expect(new Set(seen).size).toBe(5);
      expect((await listConnections(store.db, p.id, { userId: 'u1' })).items).toHaveLength(3);
      expect(
        (await listConnections(store.db, p.id, { connector: 'dropbox', userId: 'u2' })).items,
      ).toHaveLength(1);
      for (const cursorText of [
        'nope',
        Buffer.from('["x","y"]').toString('base64url'),
        Buffer.from('{}').toString('base64url'),
      ]) {
        expect((await rejection(listConnections(store.db, p.id, { cursor: cursorText }))).code).toBe(
          'invalid_input',
        );
      }
      expect((await rejection(listConnections(store.db, p.id, { limit: 0 }))).code).toBe('invalid_input');
    });

    it('consumes an OAuth session once, even when two callbacks race; an expired one is refused', async () => {
      const p = (await ensureProject(store.db, 'oauth')).project;
      const conn = await createConnection(store.db, { projectId: p.id, connector: 'gmail', name: 'x' });
      const session = await createOAuthSession(store.db, store.keys, {
        projectId: p.id,
        connectionId: conn.id,
        codeVerifier: 'verifier-123',
        redirectUri: 'http://127.0.0.1/cb',
        returnUrl: 'https://app.example/done',
      });
      const results = await Promise.allSettled([
        consumeOAuthSession(store.db, store.keys, session.state),
        consumeOAuthSession(store.db, store.keys, session.state),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      expect(won[0]?.value.codeVerifier).toBe('verifier-123');
      expect(won[0]?.value.returnUrl).toBe('https://app.example/done');
      const lost = results.find((r) => r.status === 'rejected');
      expect(String(lost?.reason)).toContain('already used');
      const other = (await ensureProject(store.db, 'oauth-other')).project;
      const fresh = await createOAuthSession(store.db, store.keys, {
        projectId: p.id,
        connectionId: conn.id,
        codeVerifier: 'v',
        redirectUri: 'http://127.0.0.1/cb',
      });
      expect(
        (await rejection(consumeOAuthSession(store.db, store.keys, fresh.state, { projectId: other.id })))
          .message,
      ).toContain('unknown');
      const expired = await createOAuthSession(
        store.db,
        store.keys,
        {
          projectId: p.id,
          connectionId: conn.id,
          codeVerifier: 'v',
          redirectUri: 'http://127.0.0.1/cb',
          ttlMs: 1,
        },
        new Date(Date.now() - 1000),
      );
      expect((await rejection(consumeOAuthSession(store.db, store.keys, expired.state))).message).toContain(
        'expired',
      );
      expect((await rejection(consumeOAuthSession(store.db, store.keys, 'no-such-state'))).message).toContain(
        'unknown',
      );
    });

    it('OAuth apps: eight first saves at once all succeed, a save replaces, and each project has its own', async () => {
      const p = (await ensureProject(store.db, 'apps')).project;
      const q = (await ensureProject(store.db, 'apps-other')).project;
      await Promise.all(
        ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight'].map((n) =>
          putOAuthApp(store.db, store.keys, {
            projectId: p.id,
            connector: 'dropbox',
            clientId: n,
            clientSecret: `s-${n}`,
          }),
        ),
      );
      const saved = await getOAuthApp(store.db, store.keys, p.id, 'dropbox');
      expect(saved?.clientSecret).toBe(`s-${saved?.clientId ?? ''}`);
      await putOAuthApp(store.db, store.keys, { projectId: p.id, connector: 'dropbox', clientId: 'last' });
      expect(await getOAuthApp(store.db, store.keys, p.id, 'dropbox')).toEqual({
        connector: 'dropbox',
        clientId: 'last',
        clientSecret: undefined,
      });
      expect(await getOAuthApp(store.db, store.keys, q.id, 'dropbox')).toBeUndefined();
    });

    it('rotate-key: after rotation everything reads with only the new key; again changes nothing; tampering is refused', async () => {
      const p = (await ensureProject(store.db, 'rotate')).project;
      const conn = await createConnection(store.db, { projectId: p.id, connector: 'gmail', name: 'r' });
      await putCredential(store.db, store.keys, {
        projectId: p.id,
        connectionId: conn.id,
        secret: { t: 'old-key-token' },
      });
      await putOAuthApp(store.db, store.keys, {
        projectId: p.id,
        connector: 'gmail',
        clientId: 'cid',
        clientSecret: 'csecret',
      });
      const session = await createOAuthSession(store.db, store.keys, {
        projectId: p.id,
        connectionId: conn.id,
        codeVerifier: 'old-verifier',
        redirectUri: 'http://127.0.0.1/cb',
      });
      const hook = await createEndpoint(
        store.db,
        store.keys,
        { projectId: p.id, url: 'https://hooks.example.com/x', events: [], description: null },
        'whsec_first',
        new Date(),
      );
      await rotateSecret(
        store.db,
        store.keys,
        p.id,
        hook.id,
        'whsec_second',
        new Date(Date.now() + 60_000),
        new Date(),
      );
      await store.close();
      const next = newKey();
      store = await open({ CONNECTR_ENCRYPTION_KEY: next, CONNECTR_ENCRYPTION_KEYS_OLD: key });
      const counts = await rotateEncryption(store.db, store.keys);
      expect(counts.credentials?.rewritten).toBeGreaterThanOrEqual(1);
      expect(counts.oauth_apps).toEqual({ rewritten: 1, current: 0 });
      expect(counts.oauth_sessions?.rewritten).toBeGreaterThanOrEqual(1);
      // Both of the endpoint's secrets: the current one and the one still signing beside it.
      expect(counts.webhook_endpoints).toEqual({ rewritten: 2, current: 0 });
      const again = await rotateEncryption(store.db, store.keys);
      expect(Object.values(again).every((c) => c.rewritten === 0)).toBe(true);
      await store.close();
      store = await open({ CONNECTR_ENCRYPTION_KEY: next });
      expect((await getCredential(store.db, store.keys, p.id, conn.id))?.secret).toEqual({
        t: 'old-key-token',
      });
      expect((await getOAuthApp(store.db, store.keys, p.id, 'gmail'))?.clientSecret).toBe('csecret');
      expect(signingSecrets(store.keys, await requireEndpoint(store.db, p.id, hook.id), new Date())).toEqual([
        'whsec_second',
        'whsec_first',
      ]);
      expect((await consumeOAuthSession(store.db, store.keys, session.state)).codeVerifier).toBe(
        'old-verifier',
      );
      // The old key alone no longer reads anything.
      const oldRing = KeyRing.fromEnv({ CONNECTR_ENCRYPTION_KEY: key });
      if (!oldRing) throw new Error('no ring');
      expect((await rejection(getCredential(store.db, oldRing, p.id, conn.id))).hint).toContain(
        'CONNECTR_ENCRYPTION_KEYS_OLD',
      );
      // A value altered in the database, or copied from another connection, is refused.
      const [row] = await store.db.select().from(credentials).where(eq(credentials.connectionId, conn.id));
      const sealed = row?.secretEncrypted ?? '';
      const flipped = `${sealed.slice(0, -3)}${sealed.at(-3) === 'A' ? 'B' : 'A'}${sealed.slice(-2)}`;
      await store.db
        .update(credentials)
        .set({ secretEncrypted: flipped })
        .where(eq(credentials.connectionId, conn.id));
      expect((await rejection(getCredential(store.db, store.keys, p.id, conn.id))).code).toBe('internal');
      expect((await rejection(rotateEncryption(store.db, store.keys))).code).toBe('internal');
      const conn2 = await createConnection(store.db, { projectId: p.id, connector: 'gmail', name: 'r2' });
      await putCredential(store.db, store.keys, {
        projectId: p.id,
        connectionId: conn2.id,
        secret: { t: 2 },
      });
      const [row2] = await store.db.select().from(credentials).where(eq(credentials.connectionId, conn2.id));
      await store.db
        .update(credentials)
        .set({ secretEncrypted: row2?.secretEncrypted ?? '' })
        .where(eq(credentials.connectionId, conn.id));
      expect((await rejection(getCredential(store.db, store.keys, p.id, conn.id))).message).toContain(
        'integrity',
      );
      await deleteConnection(store.db, p.id, conn.id);
      await store.close();
      store = await open();
      expect(secrets.entries.size).toBe(0);
      expect(pgliteKeyEntry(backend.dataDir).service).toContain(backend.dataDir);
    });
  });
}
