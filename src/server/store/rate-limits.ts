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
         count(c.key)::int AS found
  FROM clock CROSS JOIN want w LEFT JOIN cur c USING (key) GROUP BY clock.now
), taken AS (
  UPDATE rate_limit_state r SET tat = greatest(r.tat, turn.at) + w.step
  FROM want w, turn
  WHERE r.key = w.key AND turn.found = cardinality($1::text[]) AND turn.at - turn.now <= $4::float8
  RETURNING r.key
)
SELECT turn.now, turn.at, turn.found, (SELECT count(*) FROM taken)::int AS taken FROM turn`;

const PAUSE = `
INSERT INTO rate_limit_state (key, paused_until)
SELECT k, extract(epoch FROM clock_timestamp())::float8 * 1000 + $2::float8 FROM unnest($1::text[]) AS k ORDER BY k
ON CONFLICT (key) DO UPDATE SET paused_until = greatest(rate_limit_state.paused_until, excluded.paused_until)`;

export class DatabaseLimitStore implements LimitStore {
  /**
   * `sameClock`: the database keeps this process's clock (PGlite, in this process): a turn's
   * wait is then counted to its time from when the answer is read, not from when it was
   * decided, so a statement that took long to come back does not send its call late, closer to
   * the next one. Another server's clock may differ: the wait is then relative.
   */
  constructor(
    private readonly database: Pick<Database, 'query'>,
    private readonly sameClock: (() => number) | undefined,
  ) {}

  async take(keys: readonly KeyRule[], _now: number, maxWaitMs: number): Promise<Decision> {
    const sorted = [...keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const params = [
      sorted.map((k) => k.key),
      sorted.map((k) => k.interval),
      sorted.map((k) => k.tolerance),
      maxWaitMs,
    ];
    for (let attempt = 0; ; attempt++) {
      const [row] = await this.database.query<{
        now: number | string;
        at: number | string;
        found: number;
      }>(TAKE, params);
      // Every key had its row: the turn is decided (and taken, when it is within the wait).
      if (row?.found === sorted.length) {
        const at = Number(row.at);
        const decided = decide(at, Number(row.now), maxWaitMs);
        if (!decided.go || !this.sameClock) return decided;
        return { go: true, waitMs: Math.max(0, at - this.sameClock()) };
      }
      if (attempt >= 1)
        throw new Error(`rate limit keys missing after being made: ${sorted.length - (row?.found ?? 0)}`);
    }
  }

  async pause(keys: readonly string[], _now: number, ms: number): Promise<void> {
    await this.database.query(PAUSE, [[...keys], ms]);
  }
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
