import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net.js';

/**
 * A private, real PostgreSQL for tests (the recipe of GUIDE.md §3): initdb into a temporary
 * directory, pg_ctl on a free port of 127.0.0.1, trust authentication, gone at the end. As root
 * (CI) the server runs as the `postgres` user, since PostgreSQL refuses to run as root.
 * test/setup/postgres.ts starts one for the whole run (CONNECTR_TEST_POSTGRES_URL); a test that
 * stops and starts the database (outages) starts its own with startPostgres().
 */

const run = promisify(execFile);

/** The directory of initdb/pg_ctl, or undefined when PostgreSQL's server binaries are missing. */
export function postgresBinDir(): string | undefined {
  const fromEnv = process.env.CONNECTR_PG_BINDIR;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : undefined;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  // 15 is what the project targets; any installed version works.
  const chosen = versions.includes('15') ? '15' : versions[0];
  return chosen ? join(base, chosen, 'bin') : undefined;
}

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** A new empty database on this server, and its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown: connections are cut), keeping its files. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  destroy(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary, as the postgres user when we are root. */
async function pgRun(bin: string, args: string[], timeoutMs = 60_000): Promise<void> {
  const command = asRoot ? 'runuser' : bin;
  const argv = asRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  await run(command, argv, { timeout: timeoutMs });
}

export async function startPostgres(): Promise<PostgresServer> {
  const binDir = postgresBinDir();
  if (!binDir) throw new Error('PostgreSQL server binaries not found (install the postgresql package)');
  const dir = mkdtempSync(join(tmpdir(), 'connectr-pg-'));
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = () =>
    pgRun(join(binDir, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', 'start']);
  const stop = () => pgRun(join(binDir, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  try {
    await pgRun(join(binDir, 'initdb'), [
      '-D',
      data,
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    await start();
  } catch (error) {
    // Nothing left behind when it cannot start (a port taken meanwhile, a broken install).
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let running = true;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    createDatabase: () => sharedDatabase(url),
    async stop() {
      if (!running) return;
      await stop();
      running = false;
    },
    async start() {
      if (running) return;
      await start();
      running = true;
    },
    async destroy() {
      try {
        if (running) await stop();
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The shared server test/setup/postgres.ts started for this run, as `{ url }`, or `{ skip }`
 * with the reason it is missing (the Postgres variants are then skipped, and say why).
 */
export function sharedPostgres():
  { url: string; template: string | undefined; skip?: undefined } | { url?: undefined; skip: string } {
  const url = process.env.CONNECTR_TEST_POSTGRES_URL;
  if (url) return { url, template: process.env.CONNECTR_TEST_POSTGRES_TEMPLATE };
  return { skip: process.env.CONNECTR_TEST_POSTGRES_SKIP ?? 'no test PostgreSQL was started' };
}

/**
 * A new database on the shared server (CREATE DATABASE over its admin URL): empty, or a copy of
 * `template` (a database nobody is connected to).
 */
export async function sharedDatabase(adminUrl: string, template?: string): Promise<string> {
  const { default: pg } = await import('pg');
  const name = `t_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database "${name}"${template ? ` template "${template}"` : ''}`);
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
