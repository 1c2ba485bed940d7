import { postgresBinDir, startPostgres } from '../helpers/postgres.js';

/**
 * One real PostgreSQL for the whole run (test/helpers/postgres.ts), shared by the suites that
 * run on both back-ends: each takes a fresh database on it. Sets CONNECTR_TEST_POSTGRES_URL for
 * the test processes, or CONNECTR_TEST_POSTGRES_SKIP with the reason when the binaries are
 * missing; CONNECTR_REQUIRE_POSTGRES=1 (set by .ci/run) makes that a failure instead.
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
  return () => server.destroy();
}
