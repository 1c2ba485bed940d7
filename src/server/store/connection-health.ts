import { and, asc, eq, inArray, isNull, lt, lte, gte, or, sql } from 'drizzle-orm';
import type { Connection } from './connections.js';
import { tryAdvisoryLock } from './advisory-lock.js';
import type { Db } from './db.js';
import { connections, credentials } from './schema.js';
import type { ConnectionStatus } from './schema.js';

/** What the health task reads and writes of connections (server/health/). */

/** Writes last_used_at = `at` unless it already says a use within `everyMs` (another instance's). */
export async function markConnectionUsed(
  db: Db,
  projectId: string,
  id: string,
  at: Date,
  everyMs: number,
): Promise<void> {
  await db
    .update(connections)
    .set({ lastUsedAt: at })
    .where(
      and(
        eq(connections.projectId, projectId),
        eq(connections.id, id),
        or(isNull(connections.lastUsedAt), lt(connections.lastUsedAt, new Date(at.getTime() - everyMs))),
      ),
    );
}

/** Which connections a round looks at. */
export interface DuePolicy {
  /** A connection used since then whose token expires before `expiringBefore`... */
  readonly usedSince: Date;
  readonly expiringBefore: Date;
  /** ...and that was last looked at before `retryAfter` (a failed refresh is tried again then). */
  readonly retryAfter: Date;
  /** Any connection last looked at before this (refreshed when its token is older, checked when unused). */
  readonly dailyBefore: Date;
  readonly limit: number;
}

/**
 * The connections of every project a round has to look at, the longest unchecked first: active
 * ones, and those a failed check (not a refused refresh) marked needs_reauth.
 */
export async function connectionsDue(
  db: Db,
  policy: DuePolicy,
  checkFailedCode: string,
): Promise<Connection[]> {
  const rows = await db
    .select({ connection: connections })
    .from(connections)
    .leftJoin(credentials, eq(credentials.connectionId, connections.id))
    .where(
      and(
        or(
          eq(connections.status, 'active'),
          and(eq(connections.status, 'needs_reauth'), eq(connections.lastErrorCode, checkFailedCode)),
        ),
        or(
          isNull(connections.lastCheckedAt),
          lt(connections.lastCheckedAt, policy.dailyBefore),
          and(
            gte(connections.lastUsedAt, policy.usedSince),
            lte(credentials.expiresAt, policy.expiringBefore),
            lt(connections.lastCheckedAt, policy.retryAfter),
          ),
        ),
      ),
    )
    .orderBy(sql`${connections.lastCheckedAt} asc nulls first`, asc(connections.id))
    .limit(policy.limit);
  return rows.map((row) => row.connection);
}

export interface CheckRecord {
  readonly lastCheckedAt: Date;
  readonly lastError?: string | null;
  readonly lastErrorCode?: string | null;
  readonly status?: ConnectionStatus;
}

/**
 * Writes a check's outcome; with `from`, only while the connection has that status (so that of
 * two instances one changes it, and one event is recorded). The row after, or undefined.
 */
export async function recordCheck(
  db: Db,
  connection: Pick<Connection, 'projectId' | 'id'>,
  record: CheckRecord,
  from?: readonly ConnectionStatus[],
): Promise<Connection | undefined> {
  const [row] = await db
    .update(connections)
    .set({ ...record, ...(record.status ? { updatedAt: record.lastCheckedAt } : {}) })
    .where(
      and(
        eq(connections.projectId, connection.projectId),
        eq(connections.id, connection.id),
        from ? inArray(connections.status, [...from]) : undefined,
      ),
    )
    .returning();
  return row;
}

/** Any constant, the same for every instance: which one runs a health round. */
export const HEALTH_LOCK_KEY = 0x6865616c; // "heal"

/** The health round's advisory lock for transaction `tx` (advisory-lock.ts). */
export function tryHealthLock(tx: Db): Promise<boolean> {
  return tryAdvisoryLock(tx, HEALTH_LOCK_KEY);
}
