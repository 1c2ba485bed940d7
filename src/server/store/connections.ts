import { and, asc, eq, gt, or } from 'drizzle-orm';
import type { SQL } from 'drizzle-orm';
import { ConnectrError } from '../../core/errors.js';
import { decodeCursorPair, encodeCursorPair } from './cursor.js';
import type { Db } from './db.js';
import { ID_PATTERN, storableDate } from '../input.js';
import { newId } from './ids.js';
import { connections } from './schema.js';
import type { ConnectionStatus } from './schema.js';

/** Connections: one end user's account at one connector, in one project. Every query is scoped by project. */

export type Connection = typeof connections.$inferSelect;

export interface NewConnection {
  readonly projectId: string;
  readonly connector: string;
  /** The connector version its calls use (default 1, the column's). */
  readonly connectorVersion?: number | undefined;
  readonly name: string;
  readonly userId?: string | null | undefined;
  /** The Connect session's tags (default none). */
  readonly tags?: Readonly<Record<string, string>> | undefined;
}

export async function createConnection(db: Db, input: NewConnection, now = new Date()): Promise<Connection> {
  const [row] = await db
    .insert(connections)
    .values({
      id: newId('conn'),
      projectId: input.projectId,
      connector: input.connector,
      ...(input.connectorVersion === undefined ? {} : { connectorVersion: input.connectorVersion }),
      name: input.name,
      userId: input.userId ?? null,
      ...(input.tags === undefined ? {} : { tags: { ...input.tags } }),
      // Set here, at millisecond precision, so a page cursor (a JavaScript date) finds it exactly.
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  if (!row) throw new Error('inserting a connection returned no row');
  return row;
}

/** The connection, or undefined when it does not exist in this project (another project's id included). */
export async function getConnection(db: Db, projectId: string, id: string): Promise<Connection | undefined> {
  const [row] = await db
    .select()
    .from(connections)
    .where(and(eq(connections.projectId, projectId), eq(connections.id, id)));
  return row;
}

/** The connection's row locked until the transaction `tx` ends (a change that must see its state first). */
export async function lockConnection(tx: Db, projectId: string, id: string): Promise<Connection | undefined> {
  const [row] = await tx
    .select()
    .from(connections)
    .where(and(eq(connections.projectId, projectId), eq(connections.id, id)))
    .for('update');
  return row;
}

/** As getConnection, but a missing connection is a not_found error naming it. */
export async function requireConnection(db: Db, projectId: string, id: string): Promise<Connection> {
  const row = await getConnection(db, projectId, id);
  if (!row) {
    throw new ConnectrError('not_found', `no connection ${id}`, {
      hint: 'GET /api/v1/connections lists the connections this API key can see',
    });
  }
  return row;
}

export interface ConnectionPatch {
  status?: ConnectionStatus;
  connectorVersion?: number;
  accountIdentity?: string | null;
  providerAccountId?: string | null;
  scopes?: string[];
  lastRefreshAt?: Date | null;
  lastUsedAt?: Date | null;
  lastError?: string | null;
  lastErrorCode?: string | null;
}

export async function updateConnection(
  db: Db,
  projectId: string,
  id: string,
  patch: ConnectionPatch,
  now = new Date(),
): Promise<Connection | undefined> {
  const [row] = await db
    .update(connections)
    .set({ ...patch, updatedAt: now })
    .where(and(eq(connections.projectId, projectId), eq(connections.id, id)))
    .returning();
  return row;
}

/** True when it existed in this project (its credential and sign-in sessions go with it). */
export async function deleteConnection(db: Db, projectId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(connections)
    .where(and(eq(connections.projectId, projectId), eq(connections.id, id)))
    .returning({ id: connections.id });
  return rows.length > 0;
}

export interface ListOptions {
  readonly userId?: string | undefined;
  readonly connector?: string | undefined;
  /** Only connections in this status (the console's filter). */
  readonly status?: ConnectionStatus | undefined;
  /** At most this many (1..200, default 50). */
  readonly limit?: number | undefined;
  /** `next_cursor` of the previous page. */
  readonly cursor?: string | undefined;
}

export interface Page<T> {
  readonly items: T[];
  /** Pass back as `cursor` for the next page; undefined on the last one. */
  readonly nextCursor: string | undefined;
}

export const MAX_PAGE = 200;

/** A project's connections in creation order, a page at a time (keyset pagination on created_at, id). */
export async function listConnections(
  db: Db,
  projectId: string,
  options: ListOptions = {},
): Promise<Page<Connection>> {
  const limit = options.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new ConnectrError(
      'invalid_input',
      `limit must be a whole number from 1 to ${MAX_PAGE} (got ${limit})`,
      {
        hint: `ask for at most ${MAX_PAGE} connections per page and follow next_cursor`,
      },
    );
  }
  const conditions: SQL[] = [eq(connections.projectId, projectId)];
  if (options.userId !== undefined) conditions.push(eq(connections.userId, options.userId));
  if (options.connector !== undefined) conditions.push(eq(connections.connector, options.connector));
  if (options.status !== undefined) conditions.push(eq(connections.status, options.status));
  if (options.cursor !== undefined) {
    const after = decodeCursor(options.cursor);
    const next = or(
      gt(connections.createdAt, after.createdAt),
      and(eq(connections.createdAt, after.createdAt), gt(connections.id, after.id)),
    );
    if (next) conditions.push(next);
  }
  const rows = await db
    .select()
    .from(connections)
    .where(and(...conditions))
    .orderBy(asc(connections.createdAt), asc(connections.id))
    .limit(limit + 1);
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : undefined };
}

function encodeCursor(row: Connection): string {
  return encodeCursorPair(row.createdAt.toISOString(), row.id);
}

/**
 * The position a cursor holds, checked as any input is: only what encodeCursor writes (the exact
 * ISO form of a stored date, an id of the id format), so nothing else reaches the query.
 */
function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  return decodeCursorPair(
    cursor,
    'pass the next_cursor of the previous page unchanged, or leave cursor out to start again',
    (when, id) => {
      if (typeof when !== 'string' || typeof id !== 'string') return undefined;
      if (id.length > 64 || !ID_PATTERN.test(id)) return undefined;
      const createdAt = new Date(when);
      if (!storableDate(createdAt) || createdAt.toISOString() !== when) return undefined;
      return { createdAt, id };
    },
  );
}
