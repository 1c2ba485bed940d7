import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { ConnectrError } from '../../src/core/errors.js';
import { buildApp } from '../../src/server/app.js';
import { depsOf } from '../../src/server/contracts.js';
import { toAnswer } from '../../src/server/plugins/errors.js';
import { createApiKey } from '../../src/server/store/api-keys.js';
import { getConnection } from '../../src/server/store/connections.js';
import { getCredential } from '../../src/server/store/credentials.js';
import { unreachable } from '../../src/server/store/db.js';
import { openServerStore, guard } from '../../src/server/store/open.js';
import type { OpenedServerStore } from '../../src/server/store/open.js';
import { isConnectionError } from '../../src/server/store/outage.js';
import { ensureProject } from '../../src/server/store/projects.js';
import { projects } from '../../src/server/store/schema.js';
import { runBin, startBin } from '../helpers/bin.js';
import type { RunningBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { isListening } from '../helpers/net.js';
import { postgresBinDir, startPostgres } from '../helpers/postgres.js';
import type { PostgresServer } from '../helpers/postgres.js';
import { memorySecrets, newKey } from '../helpers/server-store.js';
import { LogCapture } from './helpers.js';

/**
 * The daemon under failure (issue #9): a real PostgreSQL stopped and started under a steady
 * stream of requests to a real `connectr serve` process (clean 503s while it is down, success
 * after, nothing lost, nothing half-made), and SIGTERM while requests are in flight (they get
 * their answers; past --shutdown-timeout they are cut and the process still exits).
 */

const pgSkip = postgresBinDir() ? undefined : 'PostgreSQL server binaries (initdb, pg_ctl) missing';
if (pgSkip && process.env.CONNECTR_REQUIRE_POSTGRES) throw new Error(`CONNECTR_REQUIRE_POSTGRES: ${pgSkip}`);

const STARTED = /connectr serve: listening on (http:\/\/127\.0\.0\.1:(\d+))/;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const HEAD = (name: string): string =>
  `name: ${name}\ndisplay_name: ${name}\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\nhosts:\n  api: https://api.example.com\nendpoints:\n  me:\n    summary: Who am I.\n    method: GET\n    path: /me\n`;
const ACME = `${HEAD('acme')}auth:\n  type: api_key\n  in: header\n  name: X-Api-Key\n`;
const TESTAPP = `${HEAD('testapp')}auth:
  type: oauth2
  authorization_url: https://auth.example.com/authorize
  token_url: https://auth.example.com/token
  scopes: [files.read]
  client_auth: post
  client_secret: required
`;

/** A temporary home with the test connectors, and the environment a server runs with. */
function serverHome(extra: Record<string, string>): Record<string, string> {
  const home = tempHome();
  cleanups.push(home.cleanup);
  mkdirSync(join(home.dir, 'connectors'), { recursive: true });
  writeFileSync(join(home.dir, 'connectors', 'acme.yaml'), ACME);
  writeFileSync(join(home.dir, 'connectors', 'testapp.yaml'), TESTAPP);
  return { ...home.env, CONNECTR_ENCRYPTION_KEY: newKey(), ...extra };
}

async function createKey(env: Record<string, string>): Promise<string> {
  const created = await runBin(['serve', 'keys', 'create', '--name', 'outage', '--json'], env);
  expect(created.code, created.stderr).toBe(0);
  return (JSON.parse(created.stdout) as { key: string }).key;
}

async function startServe(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<{ running: RunningBin; url: string; port: number }> {
  const running = startBin(['serve', '--port', '0', '--log-level', 'warn', ...args], env, 55_000);
  cleanups.push(async () => {
    running.child.kill('SIGKILL');
    await running.done;
  });
  const [, url = '', port = ''] = await running.waitForStderr(STARTED);
  return { running, url, port: Number(port) };
}

interface Envelope {
  readonly error?: { readonly code?: string; readonly message?: string; readonly hint?: string };
}

/**
 * Freezes the PostgreSQL server on this port (SIGSTOP): the postmaster first, so that it forks
 * no new process, then its children (checkpointer, backends...). Returns the thaw.
 */
function freezePostgres(port: number): () => void {
  const pids = (args: string[]): number[] =>
    spawnSync('pgrep', args, { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  const signal = (pid: number, name: NodeJS.Signals): void => {
    try {
      process.kill(pid, name);
    } catch {
      // Exited meanwhile (an autovacuum worker).
    }
  };
  const postmaster = pids(['-f', '--', `postgres -D .* -p ${port} `]);
  if (postmaster.length !== 1)
    throw new Error(`expected one postmaster on port ${port}, found ${postmaster.length}`);
  for (const pid of postmaster) signal(pid, 'SIGSTOP');
  const children = postmaster.flatMap((pid) => pids(['-P', String(pid)]));
  for (const pid of children) signal(pid, 'SIGSTOP');
  let thawed = false;
  return () => {
    if (thawed) return;
    thawed = true;
    for (const pid of [...children, ...postmaster]) signal(pid, 'SIGCONT');
  };
}

describe('which errors mean the database went away (one classifier)', () => {
  const pgError = (code: string, message: string): Error => Object.assign(new Error(message), { code });
  const connectionLost: [string, Error][] = [
    ['nothing listens', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['reset', pgError('ECONNRESET', 'read ECONNRESET')],
    ['admin_shutdown (pg_ctl stop)', pgError('57P01', 'terminating connection due to administrator command')],
    ['crash_shutdown', pgError('57P02', 'terminating connection because of crash of another server process')],
    ['cannot_connect_now (starting)', pgError('57P03', 'the database system is starting up')],
    ['connection_failure', pgError('08006', 'connection failure')],
    ['too_many_connections', pgError('53300', 'sorry, too many clients already')],
    ['statement_timeout', pgError('57014', 'canceling statement due to statement timeout')],
    ['socket closed', new Error('Connection terminated unexpectedly')],
    ['connect time-out', new Error('Connection terminated due to connection timeout')],
    [
      'dead client in a transaction',
      new Error('Client has encountered a connection error and is not queryable'),
    ],
    ['query time-out', new Error('Query read timeout')],
    ['pool full', new Error('timeout exceeded when trying to connect')],
    ['pool ended (shutdown)', new Error('Cannot use a pool after calling end on the pool')],
    ['PGlite closed', new Error('PGlite is closed')],
    [
      'several addresses refused',
      new AggregateError([pgError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432')], 'connect failed'),
    ],
  ];
  it.each(connectionLost)(
    '%s: unavailable, also wrapped by drizzle, and 503 from the error handler',
    (_, error) => {
      expect(isConnectionError(error)).toBe(true);
      const wrapped = new DrizzleQueryError('select * from api_keys where prefix = $1', ['abcdefgh'], error);
      expect(isConnectionError(wrapped)).toBe(true);
      const answer = toAnswer(wrapped, 1024);
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('unavailable');
      expect(answer.body.error.hint).toBeTruthy();
      expect(JSON.stringify(answer.body)).not.toContain('abcdefgh');
    },
  );

  it("the 503's message is the driver's words, also for a host refusing on all its addresses", () => {
    const refused = new AggregateError(
      [
        pgError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432'),
        pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      ],
      '',
    );
    const error = unreachable(
      'localhost:5432/app',
      new DrizzleQueryError('select 1 where $1', ['state-xyz'], refused),
    );
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe(
      'the database at localhost:5432/app is not reachable: connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432',
    );
    expect(unreachable('h:1/d', 'a thrown string').message).toBe(
      'the database at h:1/d is not reachable: a thrown string',
    );
  });

  it('a wrong statement is not an outage: syntax, constraint, plain errors stay 500', () => {
    for (const error of [
      pgError('42601', 'syntax error at or near "selec"'),
      pgError('23505', 'duplicate key value violates unique constraint'),
      pgError('ENOENT', 'no such file'),
      new Error('inserting a connection returned no row'),
      new TypeError("Cannot read properties of undefined (reading 'id')"),
    ]) {
      expect(isConnectionError(error), error.message).toBe(false);
      expect(toAnswer(new DrizzleQueryError('select 1', [], error), 1024).status).toBe(500);
    }
  });
});

describe.skipIf(pgSkip !== undefined)(
  `a real PostgreSQL stopped and started${pgSkip ? ` (skipped: ${pgSkip})` : ''}`,
  () => {
    let pg: PostgresServer;
    beforeAll(async () => {
      pg = await startPostgres();
    });
    afterAll(async () => {
      await pg.destroy();
    });
    afterEach(async () => {
      await pg.start();
    });

    it('a transaction cut between two statements does not crash the process: 503, and the pool recovers', async () => {
      const home = tempHome();
      cleanups.push(home.cleanup);
      const store: OpenedServerStore = await openServerStore({
        env: { DATABASE_URL: await pg.createDatabase(), CONNECTR_ENCRYPTION_KEY: newKey() },
        dataDir: home.dir,
        secrets: memorySecrets(),
      });
      cleanups.push(() => store.close());
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      let proceed!: () => void;
      const go = new Promise<void>((resolve) => (proceed = resolve));
      const cut = guard(store.database, () =>
        store.db.transaction(async (tx) => {
          await tx.select().from(projects).where(eq(projects.name, 'secret-looking-param'));
          entered();
          // The connection is checked out and idle here when the server goes away.
          await go;
          return tx.select().from(projects);
        }),
      );
      const outcome = cut.then(
        () => undefined,
        (error: unknown) => error,
      );
      await inside;
      await pg.stop();
      proceed();
      const error = await outcome;
      expect(error).toBeInstanceOf(ConnectrError);
      expect((error as ConnectrError).code).toBe('unavailable');
      // The driver's words, never the statement or its parameters.
      expect((error as ConnectrError).message).not.toMatch(/select|secret-looking-param/);
      const down = await guard(store.database, () => store.db.select().from(projects)).catch(
        (e: unknown) => e,
      );
      expect((down as ConnectrError).code).toBe('unavailable');
      await expect(store.readiness.ready()).rejects.toMatchObject({ code: 'unavailable' });
      await pg.start();
      // The same pool, no reopening.
      await expect(store.readiness.ready()).resolves.toBeUndefined();
      expect(await guard(store.database, () => store.db.select().from(projects))).toEqual([]);
    });

    it('clients are told the database is not reachable, never where it is; the log says where', async () => {
      const home = tempHome();
      cleanups.push(home.cleanup);
      const databaseUrl = await pg.createDatabase();
      const database = new URL(databaseUrl).pathname.slice(1);
      const store = await openServerStore({
        env: { DATABASE_URL: databaseUrl, CONNECTR_ENCRYPTION_KEY: newKey() },
        dataDir: home.dir,
        secrets: memorySecrets(),
      });
      cleanups.push(() => store.close());
      const project = (await ensureProject(store.db, 'default')).project;
      const key = (await createApiKey(store.db, { projectId: project.id, name: 'k' })).secret;
      const logs = new LogCapture();
      const app = await buildApp(depsOf(store, await loadRegistry({}), {}), {
        log: { level: 'info', stream: logs },
        readyTimeoutMs: 4000,
      });
      cleanups.push(() => app.close());
      await pg.stop();
      const answers = [
        await app.inject({ url: '/ready' }),
        await app.inject({ url: '/api/v1/connections', headers: { authorization: `Bearer ${key}` } }),
        await app.inject({
          method: 'POST',
          url: '/api/v1/connections',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          payload: JSON.stringify({ connector_type: 'gmail', name: 'n', user_id: 'u' }),
        }),
      ];
      for (const res of answers) {
        expect(res.statusCode, res.body).toBe(503);
        expect(res.json<Envelope>().error).toMatchObject({
          code: 'unavailable',
          message: 'the database is not reachable',
        });
        expect(res.body).not.toContain(String(pg.port));
        expect(res.body).not.toMatch(/127\.0\.0\.1|localhost|DATABASE_URL|ECONNREFUSED/);
        expect(res.body).not.toContain(database);
      }
      // The operator's log has the address, and why.
      expect(logs.text).toContain(`127.0.0.1:${pg.port}`);
      expect(logs.text).toContain('ECONNREFUSED');
    });

    it('a statement that runs too long is cut at CONNECTR_DB_QUERY_TIMEOUT_MS: unavailable, not a hung request', async () => {
      const home = tempHome();
      cleanups.push(home.cleanup);
      const env = {
        DATABASE_URL: await pg.createDatabase(),
        CONNECTR_ENCRYPTION_KEY: newKey(),
        CONNECTR_DB_QUERY_TIMEOUT_MS: '300',
      };
      const store = await openServerStore({ env, dataDir: home.dir, secrets: memorySecrets() });
      cleanups.push(() => store.close());
      const started = Date.now();
      await expect(
        guard(store.database, () => store.database.query('select pg_sleep(5)')),
      ).rejects.toMatchObject({
        code: 'unavailable',
      });
      expect(Date.now() - started).toBeLessThan(2500);
      // The pool is fine afterwards.
      await expect(store.readiness.ready()).resolves.toBeUndefined();
      // A setting that is not a number is refused before anything is opened, naming it.
      await expect(
        openServerStore({
          env: { ...env, CONNECTR_DB_QUERY_TIMEOUT_MS: '15s' },
          dataDir: home.dir,
          secrets: memorySecrets(),
        }),
      ).rejects.toThrow(/CONNECTR_DB_QUERY_TIMEOUT_MS must be a whole number of at least 1 \(found "15s"\)/);
    });

    it('a PostgreSQL that stops answering (SIGSTOP) costs at most the time-outs: 503, then it recovers', async () => {
      const home = tempHome();
      cleanups.push(home.cleanup);
      const store = await openServerStore({
        env: {
          DATABASE_URL: await pg.createDatabase(),
          CONNECTR_ENCRYPTION_KEY: newKey(),
          CONNECTR_DB_CONNECT_TIMEOUT_MS: '1000',
          CONNECTR_DB_QUERY_TIMEOUT_MS: '1000',
        },
        dataDir: home.dir,
        secrets: memorySecrets(),
      });
      cleanups.push(() => store.close());
      // Two connections in the pool, idle: the next statements go to a server that is frozen.
      await Promise.all([store.readiness.ready(), store.readiness.ready()]);
      const thaw = freezePostgres(pg.port);
      cleanups.push(thaw);
      const started = Date.now();
      // On a pooled connection (no answer: the client's query time-out, 1 + 5 s) and on a new
      // one (the handshake never completes: the connect time-out, 1 s).
      const outcomes = await Promise.all(
        [1, 2, 3].map(() =>
          guard(store.database, () => store.db.select().from(projects)).then(
            () => 'answered',
            (error: unknown) => (error instanceof ConnectrError ? error.code : String(error)),
          ),
        ),
      );
      const took = Date.now() - started;
      thaw();
      expect(outcomes).toEqual(['unavailable', 'unavailable', 'unavailable']);
      expect(took).toBeLessThan(9000);
      // Thawed: the pool serves again, without reopening.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const ready = await store.readiness.ready().then(
          () => true,
          () => false,
        );
        if (ready) break;
        if (Date.now() > deadline) throw new Error('the store never recovered after SIGCONT');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }, 30_000);

    it('under load: 503 `unavailable` while it is down (never 500, 401 or a hang), success after, nothing lost or half-made', async () => {
      const databaseUrl = await pg.createDatabase();
      const env = serverHome({
        DATABASE_URL: databaseUrl,
        CONNECTR_DB_CONNECT_TIMEOUT_MS: '2000',
        CONNECTR_DB_QUERY_TIMEOUT_MS: '5000',
      });
      const key = await createKey(env);
      const { running, url } = await startServe(env);
      const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

      type Phase = 'up' | 'stopping' | 'down' | 'starting' | 'back';
      let phase: Phase = 'up';
      interface Outcome {
        readonly phase: Phase;
        readonly route: string;
        readonly status: number | 'hang' | 'network';
        readonly ms: number;
        readonly body: Envelope;
        readonly retryAfter: string | null;
      }
      const outcomes: Outcome[] = [];
      /** Connections whose POST got a 201, and those whose PUT credentials got a 200. */
      const created: string[] = [];
      const credentialed = new Set<string>();
      const HANG_MS = 8000;

      async function send(
        route: string,
        path: string,
        init: RequestInit = {},
      ): Promise<{ status: number; body: unknown } | undefined> {
        const started = Date.now();
        const at = phase;
        try {
          const response = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(HANG_MS) });
          const body: unknown = await response.json();
          outcomes.push({
            phase: at,
            route,
            status: response.status,
            ms: Date.now() - started,
            body: body as Envelope,
            retryAfter: response.headers.get('retry-after'),
          });
          return { status: response.status, body };
        } catch (error) {
          const hang = error instanceof Error && error.name === 'TimeoutError';
          outcomes.push({
            phase: at,
            route,
            status: hang ? 'hang' : 'network',
            ms: Date.now() - started,
            body: {},
            retryAfter: null,
          });
          return undefined;
        }
      }

      let n = 0;
      async function round(): Promise<void> {
        const made = await send('POST /connections', '/api/v1/connections', {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({ connector_type: 'acme', name: `conn ${n++}`, user_id: 'u1' }),
        });
        if (made?.status === 201) created.push((made.body as { id: string }).id);
        const id = created[Math.floor(Math.random() * created.length)];
        if (id !== undefined) {
          const put = await send('PUT credentials', `/api/v1/connections/${id}/credentials`, {
            method: 'PUT',
            headers: auth,
            body: JSON.stringify({ api_key: `secret-${id}` }),
          });
          if (put?.status === 200) credentialed.add(id);
          await send('GET /connections/{id}', `/api/v1/connections/${id}`, { headers: auth });
        }
        await send('GET /ready', '/ready');
      }

      let stop = false;
      const workers = Array.from({ length: 3 }, async () => {
        while (!stop) {
          await round();
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      });
      const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
      try {
        await pause(1500);
        phase = 'stopping';
        await pg.stop();
        phase = 'down';
        await pause(3000);
        phase = 'starting';
        await pg.start();
        phase = 'back';
        // The server was not restarted: it answers again by itself.
        const deadline = Date.now() + 15_000;
        for (;;) {
          // A server that died meanwhile says so, with its last words.
          if (running.child.exitCode !== null || running.child.signalCode !== null)
            throw new Error(
              `connectr serve died during the outage:\n${(await running.done).stderr.slice(-3000)}`,
            );
          const ready = await fetch(`${url}/ready`).then(
            (r) => r.status,
            () => 0,
          );
          if (ready === 200) break;
          if (Date.now() > deadline) throw new Error('/ready never came back after PostgreSQL restarted');
          await pause(100);
        }
        await pause(1500);
      } finally {
        stop = true;
        await Promise.all(workers);
      }

      const summary = (list: Outcome[]): string =>
        JSON.stringify(
          list.slice(0, 5).map((o) => ({ ...o, body: o.body.error })),
          null,
          1,
        );
      // Never a 500, a hang, a dropped connection or a 401 for a valid key.
      const bad = outcomes.filter((o) => typeof o.status !== 'number' || ![200, 201, 503].includes(o.status));
      expect(bad, summary(bad)).toEqual([]);
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(6000);
      // Every failure is the envelope, with a hint, that names no statement.
      const failures = outcomes.filter((o) => o.status === 503);
      for (const o of failures) {
        expect(o.body.error?.code, summary([o])).toBe('unavailable');
        expect(o.body.error?.hint, summary([o])).toBeTruthy();
        expect(o.retryAfter, summary([o])).toBe('1');
        expect(o.body.error?.message ?? '').not.toMatch(/Failed query|insert into|select |secret-/i);
      }
      // While it was down, every route answered 503, API-key checks and /ready included.
      const down = outcomes.filter((o) => o.phase === 'down');
      for (const route of ['POST /connections', 'PUT credentials', 'GET /connections/{id}', 'GET /ready'])
        expect(down.filter((o) => o.route === route).length, route).toBeGreaterThan(0);
      expect(
        down.filter((o) => o.status !== 503),
        summary(down.filter((o) => o.status !== 503)),
      ).toEqual([]);
      // Before and after, it worked.
      expect(outcomes.some((o) => o.phase === 'up' && o.status === 201)).toBe(true);
      const after = outcomes.filter((o) => o.phase === 'back').slice(-12);
      expect(after.length).toBeGreaterThan(0);
      expect(
        after.filter((o) => o.status === 503),
        summary(after),
      ).toEqual([]);

      // Nothing lost: every connection that got a 201 is there, by id and in the list.
      expect(created.length).toBeGreaterThan(0);
      for (const id of created) {
        const shown = await fetch(`${url}/api/v1/connections/${id}`, { headers: auth });
        expect(shown.status, id).toBe(200);
      }
      const listed = new Set<string>();
      let cursor: string | null = null;
      do {
        const page = (await (
          await fetch(`${url}/api/v1/connections?limit=200${cursor ? `&cursor=${cursor}` : ''}`, {
            headers: auth,
          })
        ).json()) as { connections: { id: string; status: string }[]; next_cursor: string | null };
        for (const c of page.connections) listed.add(c.id);
        cursor = page.next_cursor;
      } while (cursor);
      for (const id of created) expect(listed.has(id), id).toBe(true);

      // Nothing half-made: a connection is active exactly when it holds a credential, and every
      // credential stored with a 200 is there.
      const { default: pgModule } = await import('pg');
      const client = new pgModule.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const rows = (
          await client.query<{ id: string; status: string; has_credential: boolean }>(
            'select c.id, c.status, (cr.connection_id is not null) as has_credential from connections c left join credentials cr on cr.connection_id = c.id',
          )
        ).rows;
        const halfMade = rows.filter((r) => (r.status === 'active') !== r.has_credential);
        expect(halfMade).toEqual([]);
        const byId = new Map(rows.map((r) => [r.id, r]));
        for (const id of credentialed) expect(byId.get(id)?.status, id).toBe('active');
      } finally {
        await client.end();
      }

      running.child.kill('SIGTERM');
      const result = await running.done;
      expect(result.code).toBe(0);
      // The log: one error line per 503 at most, never a 500's "internal", never the secrets sent.
      expect(result.stderr).not.toMatch(/secret-conn_/);
      // The 503s are logged with the driver's error, not drizzle's quote of the statement.
      expect(result.stderr).toContain('is not reachable');
      expect(result.stderr).not.toMatch(/Failed query|params:/);
    }, 60_000);
  },
);

/**
 * A token endpoint that answers after `delayMs` (changeable): the OAuth callback's code
 * exchange is a real request the server makes to a slow upstream, so the callback stays in
 * flight that long. Closed by `cleanupsOf`.
 */
interface TokenServer {
  readonly url: string;
  /** Exchanges received since the last reset. */
  received(): number;
  answerAfter(delayMs: number): void;
}

async function slowTokenServer(
  delayMs: number,
  cleanupsOf: (() => Promise<void> | void)[] = cleanups,
): Promise<TokenServer> {
  let received = 0;
  let delay = delayMs;
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      received++;
      const n = received;
      setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        response.end(JSON.stringify({ access_token: `at-${n}`, token_type: 'Bearer', expires_in: 3600 }));
      }, delay);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanupsOf.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    received: () => received,
    answerAfter: (ms) => {
      delay = ms;
      received = 0;
    },
  };
}

const REDIRECT = 'http://127.0.0.1/app/callback';

/** A testapp connection with a sign-in started: what POST /oauth/callback completes. */
async function pendingSignIn(url: string, key: string): Promise<{ id: string; state: string }> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const made = await fetch(`${url}/api/v1/connections`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ connector_type: 'testapp', name: 'slow sign-in' }),
  });
  expect(made.status).toBe(201);
  const { id } = (await made.json()) as { id: string };
  const started = await fetch(`${url}/api/v1/oauth/authorize`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ connection_id: id, redirect_uri: REDIRECT }),
  });
  expect(started.status, await started.clone().text()).toBe(200);
  return { id, state: ((await started.json()) as { state: string }).state };
}

function completeSignIn(url: string, key: string, signIn: { id: string; state: string }): Promise<Response> {
  return fetch(`${url}/api/v1/oauth/callback`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      connection_id: signIn.id,
      code: `code-${signIn.id}`,
      redirect_uri: REDIRECT,
      state: signIn.state,
    }),
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('SIGTERM with requests in flight (the real binary, PGlite)', () => {
  // One home and key for both cases (a PGlite start is slow on a busy machine); each case
  // starts its own server on it.
  const shared: (() => Promise<void> | void)[] = [];
  let token: TokenServer;
  let env: Record<string, string>;
  let key: string;
  beforeAll(async () => {
    token = await slowTokenServer(0, shared);
    const home = tempHome();
    shared.push(home.cleanup);
    mkdirSync(join(home.dir, 'connectors'));
    writeFileSync(join(home.dir, 'connectors', 'testapp.yaml'), TESTAPP);
    env = {
      ...home.env,
      CONNECTR_ENCRYPTION_KEY: newKey(),
      TESTAPP_CLIENT_ID: 'client-1',
      TESTAPP_CLIENT_SECRET: 'client-secret-1',
      CONNECTR_TESTAPP_TOKEN_URL: token.url,
    };
    key = await createKey(env);
  }, 55_000);
  afterAll(async () => {
    for (const cleanup of shared.splice(0).reverse()) await cleanup();
  });

  async function slowServer(delayMs: number, shutdownSeconds: number) {
    token.answerAfter(delayMs);
    const server = await startServe(env, ['--shutdown-timeout', String(shutdownSeconds)]);
    return { token, key, ...server };
  }

  it('they get their full answers, new connections are refused, and it exits 0', async () => {
    const { token, key, running, url, port } = await slowServer(1500, 20);
    const signIns = await Promise.all([1, 2, 3].map(() => pendingSignIn(url, key)));
    const answers = signIns.map((signIn) => completeSignIn(url, key, signIn));
    // Every exchange has reached the upstream: the three requests are in flight.
    await until(() => token.received() === 3, 'the token endpoint got the three exchanges');
    const signalled = Date.now();
    running.child.kill('SIGTERM');
    await running.waitForStderr(/stopping: finishing the requests in flight/);
    // The listener closes as the shutdown begins (Fastify's close hooks run first): within moments.
    const refusedBy = Date.now() + 2000;
    while ((await isListening('127.0.0.1', port)) && Date.now() < refusedBy)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await isListening('127.0.0.1', port)).toBe(false);
    for (const [i, answer] of (await Promise.all(answers)).entries()) {
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as { connection_id: string; status: string };
      expect(body).toMatchObject({ connection_id: signIns[i]?.id, status: 'active' });
      expect(answer.headers.get('connection')).toBe('close');
    }
    const result = await running.done;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('connectr serve: stopped');
    expect(result.stderr).not.toContain('still running after');
    // Well within --shutdown-timeout: it waited for the requests, not for the deadline.
    expect(Date.now() - signalled).toBeLessThan(10_000);
  }, 50_000);

  it('past --shutdown-timeout the requests still running are cut, and the process still exits 0', async () => {
    const { token, key, running, url } = await slowServer(60_000, 1);
    const signIns = await Promise.all([1, 2].map(() => pendingSignIn(url, key)));
    const answers = signIns.map((signIn) =>
      completeSignIn(url, key, signIn).then(
        (response) => response.status,
        (error: unknown) => (error instanceof Error ? error.name : 'error'),
      ),
    );
    await until(() => token.received() === 2, 'the token endpoint got the two exchanges');
    const signalled = Date.now();
    running.child.kill('SIGTERM');
    const result = await running.done;
    const took = Date.now() - signalled;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(
      'requests still running after 1 s (--shutdown-timeout): closing their connections',
    );
    expect(result.stderr).toContain('connectr serve: stopped');
    // The deadline, plus the time to close the store: not the upstream's minute.
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(5000);
    // Cut: the connection closed without an answer.
    expect(await Promise.all(answers)).toEqual(['TypeError', 'TypeError']);
  }, 50_000);
});

describe('a failed write leaves nothing half-made (PGlite)', () => {
  it('a sign-in whose activation fails stores no tokens: the connection stays pending without a credential', async () => {
    const token = await slowTokenServer(0);
    const home = tempHome();
    cleanups.push(home.cleanup);
    const connectorsDir = join(home.dir, 'connectors');
    mkdirSync(connectorsDir);
    writeFileSync(join(connectorsDir, 'testapp.yaml'), TESTAPP);
    const registry = await loadRegistry({ extraDirs: [connectorsDir] });
    const store = await openServerStore({
      env: { CONNECTR_ENCRYPTION_KEY: newKey() },
      dataDir: home.dir,
      secrets: memorySecrets(),
    });
    cleanups.push(() => store.close());
    const { project } = await ensureProject(store.db, 'default');
    const key = (await createApiKey(store.db, { projectId: project.id, name: 'k' })).secret;
    const app = await buildApp(
      depsOf(store, registry, {
        TESTAPP_CLIENT_ID: 'client-1',
        TESTAPP_CLIENT_SECRET: 'client-secret-1',
        CONNECTR_TESTAPP_TOKEN_URL: token.url,
      }),
    );
    cleanups.push(() => app.close());
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const signIn = await pendingSignIn(url, key);
    // The second write of the sign-in (the connection made active) fails as it would if the
    // database went away between the two: with admin_shutdown's SQLSTATE.
    await store.database.query(`create function refuse_activation() returns trigger language plpgsql as $$
      begin
        if new.status = 'active' then raise exception 'going away' using errcode = 'admin_shutdown'; end if;
        return new;
      end $$`);
    await store.database.query(
      'create trigger refuse_activation before update on connections for each row execute function refuse_activation()',
    );
    const answer = await completeSignIn(url, key, signIn);
    expect(token.received()).toBe(1);
    expect(answer.status).toBe(503);
    expect(((await answer.json()) as Envelope).error?.code).toBe('unavailable');
    expect(await getCredential(store.db, store.keys, project.id, signIn.id)).toBeUndefined();
    expect((await getConnection(store.db, project.id, signIn.id))?.status).toBe('pending');
  });
});
