import { and, count, eq, gt, gte, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from './db.js';
import { apiKeys, callLogs, connections, consoleSessions, webhookDeliveries } from './schema.js';

/**
 * The console's sign-ins (schema.ts consoleSessions): rows keyed by the SHA-256 of a random
 * token. A session found here is alive only while its expiry is ahead and, when an API key
 * signed it in, while that key is not revoked (the join below), so revoking the key ends it
 * on every instance at once.
 */

export type ConsoleRowKind = 'session' | 'link';

export interface ConsoleSessionRow {
  readonly projectId: string;
  readonly apiKeyId: string | null;
  readonly expiresAt: Date;
}

export async function insertConsoleRow(
  db: Db,
  row: {
    tokenHash: string;
    kind: ConsoleRowKind;
    projectId: string;
    apiKeyId: string | null;
    expiresAt: Date;
    now: Date;
  },
): Promise<void> {
  await db.insert(consoleSessions).values({
    tokenHash: row.tokenHash,
    kind: row.kind,
    projectId: row.projectId,
    apiKeyId: row.apiKeyId,
    createdAt: row.now,
    expiresAt: row.expiresAt,
  });
}

/** The live session of this hash, or undefined (unknown, expired, or its key revoked). */
export async function findConsoleSession(
  db: Db,
  tokenHash: string,
  now: Date,
): Promise<ConsoleSessionRow | undefined> {
  const [row] = await db
    .select({
      projectId: consoleSessions.projectId,
      apiKeyId: consoleSessions.apiKeyId,
      expiresAt: consoleSessions.expiresAt,
    })
    .from(consoleSessions)
    .leftJoin(apiKeys, eq(apiKeys.id, consoleSessions.apiKeyId))
    .where(
      and(
        eq(consoleSessions.tokenHash, tokenHash),
        eq(consoleSessions.kind, 'session'),
        gt(consoleSessions.expiresAt, now),
        isNull(apiKeys.revokedAt),
      ),
    );
  return row;
}

/** Uses up a sign-in link: deleted in the statement that reads it, so two exchanges cannot both win. */
export async function takeConsoleLink(
  db: Db,
  tokenHash: string,
  now: Date,
): Promise<{ projectId: string } | undefined> {
  const [row] = await db
    .delete(consoleSessions)
    .where(and(eq(consoleSessions.tokenHash, tokenHash), eq(consoleSessions.kind, 'link')))
    .returning({ projectId: consoleSessions.projectId, expiresAt: consoleSessions.expiresAt });
  return row && row.expiresAt.getTime() > now.getTime() ? { projectId: row.projectId } : undefined;
}

export async function deleteConsoleRow(db: Db, tokenHash: string): Promise<void> {
  await db.delete(consoleSessions).where(eq(consoleSessions.tokenHash, tokenHash));
}

export async function purgeConsoleRows(db: Db, now: Date): Promise<void> {
  await db.delete(consoleSessions).where(lt(consoleSessions.expiresAt, now));
}

export interface ConsoleSummary {
  /** Calls since `since` per connector: all, and those that failed (no answer, 4xx/5xx, an error code). */
  readonly calls: { connector: string; calls: number; errors: number }[];
  /** Connections refreshed since `since`, per connector. */
  readonly refreshes: { connector: string; count: number }[];
  /** Webhook deliveries per state (pending is the backlog). */
  readonly deliveries: { state: string; count: number }[];
}

/** What the console's Metrics page charts: the project's own numbers, from its database rows. */
export async function consoleSummary(db: Db, projectId: string, since: Date): Promise<ConsoleSummary> {
  const failed = sql<number>`count(*) filter (where ${callLogs.status} is null or ${callLogs.status} >= 400 or ${callLogs.errorCode} is not null)`;
  const calls = await db
    .select({ connector: callLogs.connector, calls: count(), errors: failed.mapWith(Number) })
    .from(callLogs)
    .where(and(eq(callLogs.projectId, projectId), gte(callLogs.at, since)))
    .groupBy(callLogs.connector)
    .orderBy(callLogs.connector);
  const refreshes = await db
    .select({ connector: connections.connector, count: count() })
    .from(connections)
    .where(and(eq(connections.projectId, projectId), gte(connections.lastRefreshAt, since)))
    .groupBy(connections.connector)
    .orderBy(connections.connector);
  const deliveries = await db
    .select({ state: webhookDeliveries.state, count: count() })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.projectId, projectId))
    .groupBy(webhookDeliveries.state)
    .orderBy(webhookDeliveries.state);
  return { calls, refreshes, deliveries };
}
