import { and, eq } from 'drizzle-orm';
import { decide } from '../../core/limits/gcra.js';
import type { Decision, KeyRule, LimitStore } from '../../core/limits/gcra.js';
import type { RateLimitRule } from '../../core/limits/spec.js';
import type { Database, Db } from './db.js';
import { rateLimitOverrides } from './schema.js';

/**
 * The rate limits' state in the database, shared by every instance (core/limits/gcra.ts says
 * what it computes). A call's turn is taken in one statement over all its keys: their rows
 * locked in key order (no two calls deadlock), the latest allowed time over them, and each
 * key's theoretical arrival time pushed one interval past it, unless the call would wait longer
 * than it may. A key's row is made the first time it is met (an insert that changes nothing
 * after); the statement is then run again, as a row made by the same statement is not yet seen.
 */

/*
 * Times are the database's clock (clock_timestamp, read once the rows are locked): the one clock
 * every instance shares, and the time the turn is really decided, however long the statement
 * waited for a connection or a lock. The caller is answered with a wait relative to it.
 */
const TAKE = `
WITH want AS (
  SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[]) AS w(key, step, tolerance)
), made AS (
  INSERT INTO rate_limit_state (key) SELECT key FROM want ON CONFLICT (key) DO NOTHING RETURNING key
), cur AS (
  SELECT r.key, r.tat, r.paused_until FROM rate_limit_state r
  WHERE r.key = ANY($1::text[]) ORDER BY r.key FOR UPDATE
), clock AS (
  -- Read once cur holds the locks: CASE evaluates its condition first.
  SELECT CASE WHEN (SELECT count(*) FROM cur) >= 0 THEN extract(epoch FROM clock_timestamp())::float8 * 1000 END AS now
), turn AS (
  SELECT clock.now, greatest(clock.now, max(greatest(c.tat - w.tolerance, c.paused_until))) AS at,
         count(c.key)::int AS found, max(c.tat) AS tat, min(w.tolerance) AS tolerance, min(w.step) AS step
  FROM clock CROSS JOIN want w LEFT JOIN cur c USING (key) GROUP BY clock.now
), lease AS (
  -- One key going now with room for many more: up to $5 turns at once, half the room at most.
  SELECT turn.*, CASE WHEN cardinality($1::text[]) = 1 AND turn.at <= turn.now THEN
    greatest(1, least($5::int, floor((turn.at + turn.tolerance - greatest(turn.tat, turn.at)) / turn.step / 2)))::int
  ELSE 1 END AS n
  FROM turn
), taken AS (
  UPDATE rate_limit_state r SET tat = greatest(r.tat, lease.at) + w.step * lease.n
  FROM want w, lease
  WHERE r.key = w.key AND lease.found = cardinality($1::text[]) AND lease.at - lease.now <= $4::float8
  RETURNING r.key
)
SELECT lease.now, lease.at, lease.found, lease.n FROM lease`;

/** Most turns one statement takes ahead for a key; how long they may be used; how many keys hold some. */
const LEASE_TURNS = 100;
const LEASE_MS = 50;
const MAX_LEASES = 10_000;

const PAUSE = `
INSERT INTO rate_limit_state (key, paused_until)
SELECT k, extract(epoch FROM clock_timestamp())::float8 * 1000 + $2::float8 FROM unnest($1::text[]) AS k ORDER BY k
ON CONFLICT (key) DO UPDATE SET paused_until = greatest(rate_limit_state.paused_until, excluded.paused_until)`;

export class DatabaseLimitStore implements LimitStore {
  /**
   * The database's server keeps its own clock: a turn's wait is relative to the time the
   * statement decided it. (PGlite, in this process and opened by it alone, keeps turns in
   * memory instead: limits/service.ts.)
   */
  constructor(private readonly database: Pick<Database, 'query'>) {}

  /**
   * Turns taken ahead for one key, by key: a key with room for many calls now (a limit far above
   * the load) gives this instance a few at once, used by its next calls within LEASE_MS without
   * a statement each. Only while half the key's room stays free, so a key near its limit is
   * decided call by call; a pause drops them (another instance's, at most LEASE_MS late).
   */
  private readonly leases = new Map<string, { left: number; until: number }>();

  /**
   * The statement on its way for a key, by key: calls that find no turn left wait for it, as it
   * may bring turns for them too. Without this, every call in flight when a lease ran out sent a
   * statement of its own (16 connections: 16 statements where one would do), which cost a
   * limit far above the load about 40 us of CPU a call on PGlite.
   */
  private readonly inFlight = new Map<string, Promise<Decision>>();

  async take(keys: readonly KeyRule[], now: number, maxWaitMs: number): Promise<Decision> {
    const single = keys.length === 1 ? keys[0]?.key : undefined;
    if (single === undefined) return this.decide(keys, undefined, now, maxWaitMs);
    for (;;) {
      const lease = this.leases.get(single);
      if (lease && lease.left > 0 && now <= lease.until) {
        lease.left--;
        return { go: true, waitMs: 0 };
      }
      const pending = this.inFlight.get(single);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    const decision = this.decide(keys, single, now, maxWaitMs);
    this.inFlight.set(single, decision);
    try {
      return await decision;
    } finally {
      if (this.inFlight.get(single) === decision) this.inFlight.delete(single);
    }
  }

  private async decide(
    keys: readonly KeyRule[],
    single: string | undefined,
    now: number,
    maxWaitMs: number,
  ): Promise<Decision> {
    const sorted = [...keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const params = [
      sorted.map((k) => k.key),
      sorted.map((k) => k.interval),
      sorted.map((k) => k.tolerance),
      maxWaitMs,
      LEASE_TURNS,
    ];
    for (let attempt = 0; ; attempt++) {
      const [row] = await this.database.query<{
        now: number | string;
        at: number | string;
        found: number;
        n: number;
      }>(TAKE, params);
      // Every key had its row: the turn is decided (and taken, when it is within the wait).
      if (row?.found === sorted.length) {
        if (single !== undefined && row.n > 1) this.lease(single, row.n - 1, now);
        return decide(Number(row.at), Number(row.now), maxWaitMs);
      }
      if (attempt >= 1)
        throw new Error(`rate limit keys missing after being made: ${sorted.length - (row?.found ?? 0)}`);
    }
  }

  async pause(keys: readonly string[], _now: number, ms: number): Promise<void> {
    for (const key of keys) this.leases.delete(key);
    await this.database.query(PAUSE, [[...keys], ms]);
  }

  private lease(key: string, left: number, now: number): void {
    if (this.leases.size >= MAX_LEASES)
      for (const [k, l] of this.leases) if (l.left === 0 || l.until < now) this.leases.delete(k);
    if (this.leases.size < MAX_LEASES) this.leases.set(key, { left, until: now + LEASE_MS });
  }
}

/** How long a key must have been idle before its row goes (purgeIdleLimitKeys). */
export const IDLE_KEY_MS = 60 * 60_000;

/**
 * Deletes the rows of keys idle for `idleMs`: no turn reserved and no pause since then. Such a
 * row says what no row says (its next call may go at once), so deleting it changes no decision;
 * without this the table keeps a row per connection and limit for good, deleted connections
 * included. Times on the database's clock, as the turns are.
 */
export async function purgeIdleLimitKeys(
  database: Pick<Database, 'query'>,
  idleMs = IDLE_KEY_MS,
): Promise<void> {
  await database.query(
    'DELETE FROM rate_limit_state WHERE greatest(tat, paused_until) < extract(epoch FROM clock_timestamp())::float8 * 1000 - $1::float8',
    [idleMs],
  );
}

/** A project's override of a connector's limits, as stored. */
export interface LimitOverride {
  readonly limits: readonly RateLimitRule[];
  readonly maxWaitMs: number | null;
  readonly updatedAt: Date;
}

/** Every project's overrides, by `${projectId}\n${connector}`: few, read whole and kept in memory. */
export async function allOverrides(db: Db): Promise<Map<string, LimitOverride>> {
  const rows = await db.select().from(rateLimitOverrides);
  return new Map(
    rows.map((r) => [
      overrideKey(r.projectId, r.connector),
      { limits: r.limits as RateLimitRule[], maxWaitMs: r.maxWaitMs, updatedAt: r.updatedAt },
    ]),
  );
}

export function overrideKey(projectId: string, connector: string): string {
  return `${projectId}\n${connector}`;
}

export async function putOverride(
  db: Db,
  projectId: string,
  connector: string,
  value: { limits: readonly RateLimitRule[]; maxWaitMs: number | null },
): Promise<LimitOverride> {
  const now = new Date();
  const [row] = await db
    .insert(rateLimitOverrides)
    .values({ projectId, connector, limits: value.limits, maxWaitMs: value.maxWaitMs, updatedAt: now })
    .onConflictDoUpdate({
      target: [rateLimitOverrides.projectId, rateLimitOverrides.connector],
      set: { limits: value.limits, maxWaitMs: value.maxWaitMs, updatedAt: now },
    })
    .returning();
  if (!row) throw new Error('the override was not written');
  return { limits: row.limits as RateLimitRule[], maxWaitMs: row.maxWaitMs, updatedAt: row.updatedAt };
}

/** Whether there was one. */
export async function deleteOverride(db: Db, projectId: string, connector: string): Promise<boolean> {
  const rows = await db
    .delete(rateLimitOverrides)
    .where(and(eq(rateLimitOverrides.projectId, projectId), eq(rateLimitOverrides.connector, connector)))
    .returning({ connector: rateLimitOverrides.connector });
  return rows.length > 0;
}
