import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { Client, Pool } from 'pg';
import { ConnectrError, messageOf } from '../../core/errors.js';
import { packagePath, PACKAGE_ROOT } from '../../core/install.js';
import { settingsOf } from '../settings.js';
import type { ServerSettings, SettingsSource } from '../settings.js';
import { lockInstance } from './instance-lock.js';
import { DATABASE_UNREACHABLE, DatabaseUnavailable, isConnectionError } from './outage.js';
import { makePrivateTree, privatePgliteFs } from './private-files.js';
import * as schema from './schema.js';

/**
 * The server's database, opened from configuration: DATABASE_URL selects PostgreSQL (through
 * node-postgres); without it, PGlite (Postgres in WebAssembly, in this process) keeps its files
 * in `<data dir>/server/pglite`, so the server runs with no set-up; that folder is its owner's
 * alone (private-files.ts). Either way the migrations
 * drizzle-kit generated are applied before anything else, under a Postgres advisory lock so
 * that servers starting together on one database do it once.
 */

export type Schema = typeof schema;
/** The query builder, the same type on both back-ends (and inside transactions). */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  readonly backend: 'postgres' | 'pglite';
  readonly db: Db;
  /** Where the data is, for messages: `postgres host:port/db` (never the password) or the directory. */
  readonly location: string;
  /** Rows of a raw SQL query (for checks the query builder does not express). */
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** The settings (or the environment to parse them from, SettingsSource) and where PGlite lives. */
export interface OpenDatabaseOptions extends SettingsSource {
  /** connectr's data directory (resolvePaths(env).dataDir): PGlite lives in `<dataDir>/server/pglite`. */
  readonly dataDir: string;
}

/** drizzle's bookkeeping table: which migrations ran. */
const MIGRATIONS = { migrationsSchema: 'drizzle', migrationsTable: '__drizzle_migrations' } as const;
/** The advisory lock every instance takes to migrate: any constant, the same for all of them. */
const MIGRATION_LOCK_KEY = 0x636f6e6e; // "conn"

/**
 * The checked-in migrations: beside this module's source in a checkout, or where the build
 * copied them (dist/server/store/migrations) when running the built CLI, whose bundle moves
 * this code elsewhere (hence install.ts).
 */
export function migrationsFolder(): string {
  const here = relative(PACKAGE_ROOT, fileURLToPath(import.meta.url));
  const built = packagePath('dist', 'server', 'store', 'migrations');
  const source = packagePath('src', 'server', 'store', 'migrations');
  if (here.startsWith('dist') && existsSync(built)) return built;
  return existsSync(source) ? source : built;
}

/** The number of migrations this build knows, and the last one's timestamp. */
export function knownMigrations(): { count: number; last: number } {
  const files = readMigrationFiles({ migrationsFolder: migrationsFolder() });
  return { count: files.length, last: files.at(-1)?.folderMillis ?? 0 };
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const settings = settingsOf(options);
  const url = settings.DATABASE_URL?.trim();
  return url ? openPostgres(url, settings) : openPglite(options.dataDir);
}

/** `host:port/database` of a connection string, for messages: never the user or password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

function checkUrl(url: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new ConnectrError('invalid_input', 'DATABASE_URL is not a URL', {
      hint: 'use postgres://user:password@host:5432/database',
    });
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new ConnectrError(
      'invalid_input',
      `DATABASE_URL must start with postgres:// (found ${protocol}//)`,
      {
        hint: 'use postgres://user:password@host:5432/database, or unset it to use the embedded PGlite database',
      },
    );
  }
}

/** A failure to reach PostgreSQL as a ConnectrError('unavailable') that names the server, not the password. */
export function unreachable(where: string, error: unknown): ConnectrError {
  if (error instanceof ConnectrError) return error;
  const root = rootCause(error);
  const code = root instanceof Error ? (root as { code?: unknown }).code : undefined;
  // Node reports a host refusing on each of its addresses as an AggregateError without a message.
  const said =
    messageOf(root) ||
    (root instanceof AggregateError ? root.errors.map(messageOf).join('; ') : '') ||
    (typeof code === 'string' ? code : 'no reason given');
  return new DatabaseUnavailable(`the database at ${where} is not reachable: ${said}`, DATABASE_UNREACHABLE, {
    hint:
      code === '28P01' || code === '28000'
        ? 'check the user name and password in DATABASE_URL'
        : code === '3D000'
          ? 'create the database (createdb) or fix its name in DATABASE_URL'
          : 'check that PostgreSQL is running and that DATABASE_URL names it (host, port, database)',
    // The driver's error: the log (which prints causes) gets no statement or values either.
    cause: root,
  });
}

/** The pool's size and time-outs, from the settings (docs/server.md, "When the database goes away"). */
export interface DbTimeouts {
  /** CONNECTR_DB_POOL_SIZE: connections to PostgreSQL per server (default 10). */
  readonly poolSize: number;
  /** CONNECTR_DB_CONNECT_TIMEOUT_MS: the longest wait for a connection, new or from a full pool (default 5000). */
  readonly connectMs: number;
  /** CONNECTR_DB_QUERY_TIMEOUT_MS: the longest a statement may run (default 15000). */
  readonly queryMs: number;
}

export function dbTimeouts(settings: ServerSettings): DbTimeouts {
  return {
    poolSize: settings.CONNECTR_DB_POOL_SIZE,
    connectMs: settings.CONNECTR_DB_CONNECT_TIMEOUT_MS,
    queryMs: settings.CONNECTR_DB_QUERY_TIMEOUT_MS,
  };
}

async function openPostgres(url: string, settings: ServerSettings): Promise<Database> {
  checkUrl(url);
  const where = describeUrl(url);
  const [{ default: pg }, { drizzle }, { migrate }] = await Promise.all([
    import('pg'),
    import('drizzle-orm/node-postgres'),
    import('drizzle-orm/node-postgres/migrator'),
  ]);
  const timeouts = dbTimeouts(settings);
  const pool: Pool = new pg.Pool({
    connectionString: url,
    max: timeouts.poolSize,
    connectionTimeoutMillis: timeouts.connectMs,
    // The server cancels a statement running longer than this (57014), releasing its locks; the
    // client gives up a little later on its own, for a server that no longer answers at all.
    statement_timeout: timeouts.queryMs,
    query_timeout: timeouts.queryMs + 5000,
    // A connection to a host that vanished (no RST: a fail-over, a cut network) is noticed.
    keepAlive: true,
  });
  // A connection the server drops (a restart, a fail-over) must not crash the process: an idle
  // one is discarded by the pool ('error' on the pool), and one checked out (inside a
  // transaction, between two statements) would emit 'error' with no listener, which ends the
  // process; its next statement fails instead, and the pool discards it when released.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  try {
    // One dedicated connection holds the lock while it migrates: a session lock, released by
    // pg_advisory_unlock or, should this process die, by the connection closing. Not from the
    // pool: waiting for another instance's migrations may take longer than a statement may.
    const client: Client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: timeouts.connectMs,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw unreachable(where, error);
    }
    try {
      await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      try {
        await migrate(drizzle(client, { schema }), { migrationsFolder: migrationsFolder(), ...MIGRATIONS });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      }
    } catch (error) {
      throw migrationFailed(where, error);
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  const db: Db = drizzle(pool, { schema });
  return {
    backend: 'postgres',
    db,
    location: `postgres ${where}`,
    async query<T>(text: string, params: unknown[] = []) {
      try {
        return (await pool.query(text, params)).rows as T[];
      } catch (error) {
        throw isConnectionError(error) ? unreachable(where, error) : error;
      }
    },
    close: () => pool.end(),
  };
}

/**
 * The innermost cause: the driver's own error. drizzle's wrapper quotes the statement and its
 * parameters (an OAuth state, a ciphertext), which must not reach an answer.
 */
function rootCause(error: unknown): unknown {
  let e = error;
  for (let depth = 0; e instanceof Error && e.cause instanceof Error && depth < 8; depth++) e = e.cause;
  return e;
}

function migrationFailed(where: string, error: unknown): ConnectrError {
  if (error instanceof ConnectrError) return error;
  if (isConnectionError(error)) return unreachable(where, error);
  return new ConnectrError(
    'unavailable',
    `applying the database migrations on ${where} failed: ${messageOf(rootCause(error))}`,
    {
      hint: 'check that the DATABASE_URL user may create tables, and that the database is not from a newer connectr',
      cause: error,
    },
  );
}

async function openPglite(dataDir: string): Promise<Database> {
  const serverDir = join(dataDir, 'server');
  const dir = join(serverDir, 'pglite');
  // Tightened (or refused) before anything is written in it, the lock file included.
  await makePrivateTree(serverDir);
  const lock = lockInstance(join(serverDir, 'pglite.lock'), `the PGlite database ${dir}`);
  try {
    const [{ PGlite }, { drizzle }, { migrate }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('drizzle-orm/pglite'),
      import('drizzle-orm/pglite/migrator'),
    ]);
    let client: InstanceType<typeof PGlite>;
    try {
      client = await PGlite.create(dir, { fs: await privatePgliteFs(dir) });
    } catch (error) {
      if (error instanceof ConnectrError) throw error;
      throw new ConnectrError(
        'unavailable',
        `cannot open the PGlite database in ${dir}: ${messageOf(error)}`,
        {
          hint: 'restore the directory from a backup, or set DATABASE_URL to use PostgreSQL',
          cause: error,
        },
      );
    }
    const db: Db = drizzle(client, { schema });
    try {
      await migrate(drizzle(client, { schema }), { migrationsFolder: migrationsFolder(), ...MIGRATIONS });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw migrationFailed(dir, error);
    }
    return {
      backend: 'pglite',
      db,
      location: dir,
      async query<T>(text: string, params: unknown[] = []) {
        return (await client.query<T>(text, params)).rows;
      },
      async close() {
        try {
          await client.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** What a client is told of a database that answers but is not migrated (yet). */
const NOT_MIGRATED = 'the database is not ready: its migrations are not applied';

/**
 * Resolves when the database answers and has every migration this build knows; else a
 * ConnectrError('unavailable') saying which (what GET /ready reports).
 */
export async function checkReady(database: Database): Promise<void> {
  const known = knownMigrations();
  let rows: { count: string | number; last: string | number | null }[];
  try {
    rows = await database.query(
      `select count(*) as count, max(created_at) as last from "${MIGRATIONS.migrationsSchema}"."${MIGRATIONS.migrationsTable}"`,
    );
  } catch (error) {
    if (error instanceof ConnectrError) throw error;
    throw new DatabaseUnavailable(
      `the database ${database.location} has no migrations table: ${messageOf(error)}`,
      NOT_MIGRATED,
      {
        hint: 'restart the server to apply the migrations',
        cause: error,
      },
    );
  }
  const last = Number(rows[0]?.last ?? 0);
  if (last < known.last) {
    throw new DatabaseUnavailable(
      `the database ${database.location} lacks migrations (${String(rows[0]?.count ?? 0)} applied of ${known.count})`,
      NOT_MIGRATED,
      { hint: 'restart the server to apply the migrations' },
    );
  }
}
