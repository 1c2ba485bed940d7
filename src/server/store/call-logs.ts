import { and, asc, desc, eq, gt, gte, lt, lte } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import type { SQL } from 'drizzle-orm';
import { decodeCursorPair, encodeCursorPair } from './cursor.js';
import type { Db } from './db.js';
import { callLogs } from './schema.js';

/**
 * The call log's rows (schema.ts `call_logs`): written many at once by the batch writer
 * (server/call-log/writer.ts), read a page at a time by the log routes and `serve logs`,
 * deleted past their retention. Every read filters on the project.
 */

export type CallLogRow = typeof callLogs.$inferSelect;
export type NewCallLogRow = typeof callLogs.$inferInsert;

/**
 * One INSERT of the whole batch, the batch writer's only statement, its rows as one JSON
 * parameter: a multi-row VALUES binds a parameter per field (8,000 for 500 rows), which PGlite,
 * in the server's own process, took 80 to 180 µs a row to parse and bind; the JSON array about
 * 20 (measured on this project's 2-core machine), and it is one short statement for PostgreSQL.
 */
export async function insertCallLogs(db: Db, rows: readonly NewCallLogRow[]): Promise<void> {
  if (rows.length === 0) return;
  const json = JSON.stringify(
    rows.map((r) => [
      r.at.toISOString(),
      r.projectId,
      r.connectionId,
      r.connector,
      r.connectorVersion ?? null,
      r.kind,
      r.endpoint ?? null,
      r.method ?? null,
      r.path ?? null,
      r.status ?? null,
      r.durationMs,
      r.bytesSent ?? null,
      r.bytesReceived ?? null,
      r.retries ?? 0,
      r.errorCode ?? null,
      r.requestId,
    ]),
  );
  await db.execute(sql`
    insert into ${callLogs} (at, project_id, connection_id, connector, connector_version, kind,
      endpoint, method, path, status, duration_ms, bytes_sent, bytes_received, retries, error_code,
      request_id)
    select (r->>0)::timestamptz, r->>1, r->>2, r->>3, (r->>4)::integer, r->>5, r->>6, r->>7, r->>8,
      (r->>9)::integer, (r->>10)::integer, (r->>11)::bigint, (r->>12)::bigint, (r->>13)::integer,
      r->>14, r->>15
    from jsonb_array_elements(${json}::jsonb) as r`);
}

/** Deletes the rows of calls started before `before`; how many went. */
export async function pruneCallLogs(db: Db, before: Date): Promise<number> {
  const gone = await db.delete(callLogs).where(lt(callLogs.at, before)).returning({ id: callLogs.id });
  return gone.length;
}

export const MAX_LOG_PAGE = 500;

/** An upstream status, or a class of them (4 for 4xx). */
export type StatusFilter = { readonly exact: number } | { readonly class: number };

export interface CallLogQuery {
  readonly connectionId?: string | undefined;
  readonly connector?: string | undefined;
  readonly status?: StatusFilter | undefined;
  /** Calls started at or after this. */
  readonly since?: Date | undefined;
  readonly limit: number;
  /** A cursor this module wrote (next_cursor or follow_cursor). */
  readonly cursor?: string | undefined;
}

export interface CallLogPage {
  readonly rows: CallLogRow[];
  /** Older rows than the page's (null on the last page, and on a page going forward). */
  readonly nextCursor: string | null;
  /** Where to ask again for rows written after this page's (`serve logs --follow`). */
  readonly followCursor: string;
}

/**
 * A page of a project's call log. Without a cursor or with a `next_cursor`: newest first, going
 * back; with a `follow_cursor`: the rows written since, oldest first, so a follower that asks
 * again with each page's `follow_cursor` sees every row once, in the order they were written.
 */
export async function listCallLogs(db: Db, projectId: string, query: CallLogQuery): Promise<CallLogPage> {
  const limit = query.limit;
  const position = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const conditions: SQL[] = [eq(callLogs.projectId, projectId)];
  if (query.connectionId !== undefined) conditions.push(eq(callLogs.connectionId, query.connectionId));
  if (query.connector !== undefined) conditions.push(eq(callLogs.connector, query.connector));
  if (query.since !== undefined) conditions.push(gte(callLogs.at, query.since));
  const status = query.status;
  if (status !== undefined) {
    if ('exact' in status) conditions.push(eq(callLogs.status, status.exact));
    else {
      conditions.push(gte(callLogs.status, status.class * 100));
      conditions.push(lte(callLogs.status, status.class * 100 + 99));
    }
  }
  const forward = position?.direction === 'after';
  if (position) conditions.push(forward ? gt(callLogs.id, position.id) : lt(callLogs.id, position.id));
  const rows = await db
    .select()
    .from(callLogs)
    .where(and(...conditions))
    .orderBy(forward ? asc(callLogs.id) : desc(callLogs.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  // Forward from the newest row seen (or from where the follower was, when nothing came).
  const newest = Math.max(forward ? position.id : 0, ...page.map((row) => row.id));
  const last = page.at(-1);
  return {
    rows: page,
    nextCursor: !forward && rows.length > limit && last ? encodeCursor('before', last.id) : null,
    followCursor: encodeCursor('after', newest),
  };
}

type Direction = 'before' | 'after';

function encodeCursor(direction: Direction, id: number): string {
  return encodeCursorPair(direction === 'before' ? 'b' : 'a', id);
}

/**
 * The position a cursor holds, checked as any input is: only what encodeCursor writes (a
 * direction and a whole row number), so nothing else reaches the query.
 */
function decodeCursor(cursor: string): { direction: Direction; id: number } {
  const hint =
    'pass next_cursor or follow_cursor of the previous page unchanged, or leave cursor out to start again';
  // Longer than any cursor written: refused before it is decoded.
  const checked = cursor.length <= 64 && /^[A-Za-z0-9_-]*$/.test(cursor) ? cursor : '!';
  return decodeCursorPair(checked, hint, (direction, id) =>
    (direction === 'a' || direction === 'b') && typeof id === 'number' && Number.isSafeInteger(id) && id >= 0
      ? { direction: direction === 'a' ? ('after' as const) : ('before' as const), id }
      : undefined,
  );
}
