import { tmpdir } from 'node:os';
import { openServerStore } from '../../src/server/store/open.js';
import { postgresBinDir, startPostgres } from '../helpers/postgres.js';
import type { PostgresServer } from '../helpers/postgres.js';
import { memorySecrets, newKey } from '../helpers/server-store.js';

/**
 * One real PostgreSQL for the whole run (test/helpers/postgres.ts), shared by the suites that
 * run on both back-ends: each takes a fresh database on it. Sets CONNECTR_TEST_POSTGRES_URL for
 * the test processes, or CONNECTR_TEST_POSTGRES_SKIP with the reason when the binaries are
 * missing; CONNECTR_REQUIRE_POSTGRES=1 (set by .ci/run) makes that a failure instead.
 * CONNECTR_TEST_POSTGRES_TEMPLATE names a migrated database each fresh one is copied from.
 */
export default async function setup(): Promise<() => Promise<void>> {
  delete process.env.CONNECTR_TEST_POSTGRES_URL;
  if (!postgresBinDir()) {
    const reason = 'PostgreSQL server binaries (initdb, pg_ctl) missing';
    if (process.env.CONNECTR_REQUIRE_POSTGRES) {
      throw new Error(`CONNECTR_REQUIRE_POSTGRES is set but ${reason}`);
    }
    process.env.CONNECTR_TEST_POSTGRES_SKIP = reason;
    console.warn(
      `postgres: ${reason}; the PostgreSQL variants of the tests are skipped (.ci/run installs postgresql)`,
    );
    return () => Promise.resolve();
  }
  const server = await startPostgres();
  process.env.CONNECTR_TEST_POSTGRES_URL = server.url;
  process.env.CONNECTR_TEST_POSTGRES_TEMPLATE = await migratedTemplate(server);
  return () => server.destroy();
}

/** A database with the migrations applied and no rows, closed, for CREATE DATABASE … TEMPLATE. */
async function migratedTemplate(server: PostgresServer): Promise<string> {
  const url = new URL(await server.createDatabase());
  const store = await openServerStore({
    env: { DATABASE_URL: url.toString(), CONNECTR_ENCRYPTION_KEY: newKey() },
    dataDir: tmpdir(),
    secrets: memorySecrets(),
  });
  await store.close();
  return url.pathname.slice(1);
}
