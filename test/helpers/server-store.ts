import { DEFAULT_CACHE_MS } from '../../src/server/cache/caches.js';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KeySecrets } from '../../src/server/store/open.js';
import { tempHome } from './home.js';
import { sharedDatabase, sharedPostgres } from './postgres.js';

/**
 * The server's two back-ends as test variants: PGlite in a temporary data directory (always),
 * and a fresh database on the run's real PostgreSQL (test/setup/postgres.ts) where its binaries
 * exist. Suites run the same cases on both; the Postgres variant is skipped, with the reason in
 * its name, where the binaries are missing (a failure in CI: CONNECTR_REQUIRE_POSTGRES).
 */
export interface BackendVariant {
  readonly name: 'pglite' | 'postgres';
  /** Why it cannot run here; undefined when it can. */
  readonly skip: string | undefined;
  /**
   * A fresh database with no rows: its environment (DATABASE_URL for Postgres) and data
   * directory. Already migrated, a copy of the run's template (test/setup/pglite.ts,
   * test/setup/postgres.ts), unless `empty`: then not even migrated.
   */
  fresh(options?: { readonly empty?: boolean }): Promise<FreshBackend>;
}

export interface FreshBackend {
  readonly env: Record<string, string>;
  readonly dataDir: string;
  cleanup(): void;
}

const shared = sharedPostgres();

/**
 * Puts a copy of the run's migrated PGlite database (test/setup/pglite.ts) in a data directory
 * that has none, for a server about to start there: it then skips PGlite's initdb and the
 * migrations. Nothing happens without the template (a run without the global setup).
 */
export function seedPglite(dataDir: string): void {
  const template = process.env.CONNECTR_TEST_PGLITE_TEMPLATE;
  if (!template) return;
  mkdirSync(join(dataDir, 'server'), { recursive: true, mode: 0o700 });
  cpSync(template, join(dataDir, 'server', 'pglite'), { recursive: true });
}

export const PGLITE: BackendVariant = {
  name: 'pglite',
  skip: undefined,
  fresh: (options) => {
    const home = tempHome();
    if (!options?.empty) seedPglite(home.dir);
    return Promise.resolve({ env: home.env, dataDir: home.dir, cleanup: home.cleanup });
  },
};

export const POSTGRES: BackendVariant = {
  name: 'postgres',
  skip: shared.skip,
  fresh: async (options) => {
    if (!shared.url) throw new Error(`no test PostgreSQL: ${shared.skip ?? ''}`);
    const home = tempHome();
    const url = await sharedDatabase(shared.url, options?.empty ? undefined : shared.template);
    return { env: { ...home.env, DATABASE_URL: url }, dataDir: home.dir, cleanup: home.cleanup };
  },
};

export const BACKENDS: readonly BackendVariant[] = [PGLITE, POSTGRES];

/** The title of a variant's describe block: says when and why it is skipped. */
export const variantTitle = (v: BackendVariant): string =>
  v.skip ? `${v.name} (skipped: ${v.skip})` : v.name;

/** A key as CONNECTR_ENCRYPTION_KEY takes it. */
export const newKey = (): string => randomBytes(32).toString('base64');

/** An in-memory KeySecrets (the CLI's credential store stands behind it in real use). */
export function memorySecrets(): KeySecrets & { readonly entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    location: 'test memory',
    get: (service, account) => Promise.resolve(entries.get(`${service}\0${account}`) ?? null),
    set: (service, account, secret) => {
      entries.set(`${service}\0${account}`, secret);
      return Promise.resolve();
    },
  };
}

/**
 * The clock of a store's caches (openServerStore's `now`), moved on by the test: a change made
 * behind the server's back (straight in the database, as another instance would) is seen once
 * `pass()` has moved it beyond the cache time, as it would be in real time.
 */
export class CacheClock {
  private offset = 0;
  readonly now = (): number => Date.now() + this.offset;
  pass(): void {
    this.offset += DEFAULT_CACHE_MS + 1;
  }
}
