import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/cli/context.js';
import type { CliContext } from '../../src/cli/context.js';
import { createKey, listKeys, revokeKey } from '../../src/cli/commands/serve/keys.js';
import { rotateKey } from '../../src/cli/commands/serve/rotate-key.js';
import { verifyApiKey } from '../../src/server/store/api-keys.js';
import { createConnection } from '../../src/server/store/connections.js';
import { getCredential, putCredential } from '../../src/server/store/credentials.js';
import { openDatabase } from '../../src/server/store/db.js';
import { openServerStore, pgliteKeyEntry } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import { testIO } from '../helpers/io.js';
import type { TestIO } from '../helpers/io.js';
import type { FreshBackend } from '../helpers/server-store.js';
import { BACKENDS, memorySecrets, newKey, variantTitle } from '../helpers/server-store.js';
import { FILE_STORE } from '../helpers/stores.js';
import { rejection } from '../helpers/rejection.js';

/** A command's context as main.ts builds it, over captured streams. */
function context(
  env: Record<string, string>,
  options: { tty?: boolean } = {},
): { ctx: CliContext; io: TestIO } {
  const io = testIO({ tty: options.tty ?? false });
  return { ctx: createContext(io, env, {}, new AbortController().signal), io };
}

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(
    `connectr serve keys / rotate-key on ${variantTitle(variant)}`,
    () => {
      let backend: FreshBackend;
      beforeAll(async () => {
        backend = await variant.fresh();
        // Creating a PGlite database takes seconds: do it here, not inside the first test's time.
        await (await openDatabase({ env: backend.env, dataDir: backend.dataDir })).close();
      });
      afterAll(() => {
        backend.cleanup();
      });

      /** Whether the database accepts this key now (what the server's auth asks). */
      async function accepted(secret: string): Promise<boolean> {
        const database = await openDatabase({ env: backend.env, dataDir: backend.dataDir });
        try {
          return (await verifyApiKey(database.db, secret)) !== undefined;
        } finally {
          await database.close();
        }
      }

      it('create prints the key once (JSON when piped); list never shows it; revoke by prefix stops it', async () => {
        const created = context(backend.env);
        await createKey(created.ctx, { name: 'ci', allowToken: true });
        const out = JSON.parse(created.io.out()) as Record<string, unknown>;
        expect(out).toMatchObject({ name: 'ci', project: 'default', allow_token: true });
        const secret = String(out.key);
        expect(secret).toMatch(/^cnr_[a-z2-7]{8}_/);
        expect(created.io.err()).toContain('Created project default');
        expect(await accepted(secret)).toBe(true);

        const listed = context(backend.env);
        await listKeys(listed.ctx, {});
        expect(listed.io.out()).not.toContain(secret.slice(14));
        const rows = JSON.parse(listed.io.out()) as Record<string, unknown>[];
        expect(rows).toEqual([
          expect.objectContaining({
            id: out.id,
            prefix: out.prefix,
            name: 'ci',
            project: 'default',
            revoked_at: null,
          }),
        ]);
        expect(rows[0]?.last_used_at).not.toBeNull();

        const tty = context(backend.env, { tty: true });
        await listKeys(tty.ctx, {});
        expect(tty.io.out()).toMatch(/PREFIX\s+NAME\s+PROJECT/);
        expect(tty.io.out()).toContain(String(out.prefix));

        const revoked = context(backend.env);
        await revokeKey(revoked.ctx, String(out.prefix));
        expect(JSON.parse(revoked.io.out())).toMatchObject({ id: out.id, already_revoked: false });
        expect(await accepted(secret)).toBe(false);
        const again = context(backend.env, { tty: true });
        await revokeKey(again.ctx, String(out.id));
        expect(again.io.err()).toContain('already revoked');
        const unknown = await rejection(revokeKey(context(backend.env).ctx, 'key_nope'));
        expect(unknown.code).toBe('not_found');
        expect(unknown.hint).toContain('keys list');
      });

      it('at a terminal, stdout holds the key alone; --project scopes creation and listing', async () => {
        const { ctx, io } = context(backend.env, { tty: true });
        await createKey(ctx, { name: 'staging app', project: 'staging' });
        const lines = io.out().trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^cnr_[a-z2-7]{8}_[A-Za-z0-9_-]{43}$/);
        expect(io.err()).toContain('Created project staging');
        expect(io.err()).toContain('shown only now');
        expect(await accepted(lines[0] ?? '')).toBe(true);

        const listed = context(backend.env);
        await listKeys(listed.ctx, { project: 'staging' });
        expect((JSON.parse(listed.io.out()) as { name: string }[]).map((k) => k.name)).toEqual([
          'staging app',
        ]);
        expect((await rejection(listKeys(context(backend.env).ctx, { project: 'nope' }))).code).toBe(
          'not_found',
        );
        for (const bad of ['', 'a b', '../x', 'x'.repeat(64)]) {
          expect(
            (await rejection(createKey(context(backend.env).ctx, { name: 'k', project: bad }))).code,
          ).toBe('invalid_input');
        }
        expect((await rejection(createKey(context(backend.env).ctx, { name: '  ' }))).hint).toContain(
          '--name',
        );
        // The bounds the running server's control channel sets hold here too.
        const long = await rejection(createKey(context(backend.env).ctx, { name: 'n'.repeat(201) }));
        expect(long.code).toBe('invalid_input');
        expect(long.details.join('\n')).toContain('name');
      });

      it('--scope metrics makes a key for GET /metrics alone; any other scope, or --allow-token with it, is refused', async () => {
        const created = context(backend.env);
        await createKey(created.ctx, { name: 'prometheus', scope: 'metrics' });
        const out = JSON.parse(created.io.out()) as Record<string, unknown>;
        expect(out).toMatchObject({ name: 'prometheus', scope: 'metrics', allow_token: false });
        const database = await openDatabase({ env: backend.env, dataDir: backend.dataDir });
        try {
          expect(await verifyApiKey(database.db, String(out.key))).toMatchObject({ scope: 'metrics' });
        } finally {
          await database.close();
        }
        const tty = context(backend.env, { tty: true });
        await createKey(tty.ctx, { name: 'prometheus 2', scope: 'metrics' });
        expect(tty.io.err()).toContain('reads GET /metrics and nothing else');

        const listed = context(backend.env);
        await listKeys(listed.ctx, {});
        const rows = JSON.parse(listed.io.out()) as { name: string; scope: string }[];
        expect(rows.find((k) => k.name === 'prometheus')?.scope).toBe('metrics');
        expect(
          rows.filter((k) => k.name !== 'prometheus' && k.name !== 'prometheus 2').map((k) => k.scope),
        ).not.toContain('metrics');

        const both = await rejection(
          createKey(context(backend.env).ctx, { name: 'x', scope: 'metrics', allowToken: true }),
        );
        expect(both.code).toBe('invalid_input');
        expect(both.hint).toContain('--allow-token');
        for (const scope of ['admin', 'METRICS', 'metrics ', '']) {
          const bad = await rejection(
            createKey(context(backend.env).ctx, { name: 'x', scope: scope as 'metrics' }),
          );
          expect(bad.code, scope).toBe('invalid_input');
          expect(bad.details.join('\n'), scope).toContain('scope');
        }
      });

      it('rotate-key re-encrypts everything with the current key, reports counts, and is idempotent', async () => {
        const oldKey = newKey();
        const store = await openServerStore({
          env: { ...backend.env, CONNECTR_ENCRYPTION_KEY: oldKey },
          dataDir: backend.dataDir,
          secrets: memorySecrets(),
        });
        const { project } = await ensureProject(store.db, 'rot');
        const conn = await createConnection(store.db, {
          projectId: project.id,
          connector: 'gmail',
          name: 'x',
        });
        await putCredential(store.db, store.keys, {
          projectId: project.id,
          connectionId: conn.id,
          secret: 'tok',
        });
        await store.close();

        const newer = newKey();
        const env = { ...backend.env, CONNECTR_ENCRYPTION_KEY: newer, CONNECTR_ENCRYPTION_KEYS_OLD: oldKey };
        const first = context(env);
        await rotateKey(first.ctx);
        const report = JSON.parse(first.io.out()) as {
          rewritten: number;
          tables: Record<string, { rewritten: number }>;
        };
        expect(report.rewritten).toBe(1);
        expect(report.tables.credentials).toEqual({ rewritten: 1, current: 0 });
        const second = context(env, { tty: true });
        await rotateKey(second.ctx);
        expect(second.io.err()).toContain('Re-encrypted 0 values');
        expect(second.io.err()).toContain('1 already used it');

        const after = await openServerStore({
          env: { ...backend.env, CONNECTR_ENCRYPTION_KEY: newer },
          dataDir: backend.dataDir,
          secrets: memorySecrets(),
        });
        try {
          expect((await getCredential(after.db, after.keys, project.id, conn.id))?.secret).toBe('tok');
        } finally {
          await after.close();
        }
      });
    },
  );
}

describe('the PGlite server key in the CLI credential store', () => {
  it('is generated on first use into the encrypted file store when no keychain is reachable', async () => {
    const backend = await BACKENDS[0]?.fresh();
    if (!backend) throw new Error('no pglite variant');
    try {
      const env = { ...backend.env, ...FILE_STORE.env };
      const { ctx, io } = context(env);
      await rotateKey(ctx);
      expect(io.err()).toContain(`encrypted file ${backend.dataDir}`);
      const { service, account } = pgliteKeyEntry(backend.dataDir);
      const stored = await FILE_STORE.secret(backend.dataDir, service, account);
      expect(Buffer.from(stored ?? '', 'base64')).toHaveLength(32);
      const again = context(env);
      await rotateKey(again.ctx);
      expect(again.io.err()).not.toContain('Generated');
      expect(await FILE_STORE.secret(backend.dataDir, service, account)).toBe(stored);
    } finally {
      backend.cleanup();
    }
  }, 120_000);
});
