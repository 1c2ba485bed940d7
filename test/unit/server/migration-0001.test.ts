import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, expect, it } from 'vitest';
import { migrationsFolder } from '../../../src/server/store/db.js';

/**
 * Migration 0001 (sign-ins that belong to no connection yet) on a database that has sign-ins in
 * flight from before it: each keeps its connection and gets that connection's connector.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

it('gives the sign-ins in flight their connection’s connector, and lets new ones have no connection', async () => {
  // The migrations as they were before 0001.
  const before = mkdtempSync(join(tmpdir(), 'connectr-migrations-'));
  dirs.push(before);
  cpSync(migrationsFolder(), before, { recursive: true });
  const journalPath = join(before, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  writeFileSync(
    journalPath,
    JSON.stringify({ ...journal, entries: journal.entries.filter((e) => e.tag === '0000_init') }),
  );

  const client = new PGlite();
  try {
    const db = drizzle(client);
    await migrate(db, { migrationsFolder: before });
    await client.exec(`
      INSERT INTO projects (id, name) VALUES ('prj_1', 'default');
      INSERT INTO connections (id, project_id, connector, name) VALUES ('conn_1', 'prj_1', 'gmail', 'mine');
      INSERT INTO oauth_sessions (id, project_id, connection_id, state, pkce_verifier_encrypted, redirect_uri, expires_at)
        VALUES ('oas_1', 'prj_1', 'conn_1', 'st', 'sealed', 'http://127.0.0.1/cb', now() + interval '1 hour');
    `);
    await migrate(db, { migrationsFolder: migrationsFolder() });
    const rows = await client.query<{ connection_id: string | null; connector: string }>(
      'SELECT connection_id, connector FROM oauth_sessions',
    );
    expect(rows.rows).toEqual([{ connection_id: 'conn_1', connector: 'gmail' }]);
    await client.exec(`
      INSERT INTO oauth_sessions (id, project_id, connector, state, pkce_verifier_encrypted, redirect_uri, expires_at)
        VALUES ('oas_2', 'prj_1', 'gmail', 'st2', 'sealed', 'http://127.0.0.1/cb', now() + interval '1 hour');
    `);
    await expect(
      client.exec(`
        INSERT INTO oauth_sessions (id, project_id, state, pkce_verifier_encrypted, redirect_uri, expires_at)
          VALUES ('oas_3', 'prj_1', 'st3', 'sealed', 'http://127.0.0.1/cb', now() + interval '1 hour');
      `),
    ).rejects.toThrow(/connector/);
  } finally {
    await client.close();
  }
});
