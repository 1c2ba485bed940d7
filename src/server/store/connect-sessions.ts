import { randomBytes } from 'node:crypto';
import { and, eq, gt, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { hashOf } from './api-keys.js';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { connectSessions, connectSettings, oauthSessions } from './schema.js';

/**
 * Connect sessions and a project's Connect settings. A session's token (`cnct_` and 256 random
 * bits) is given once to the app that asked for it; only its SHA-256 is stored, so the database
 * (or a backup) opens no Connect page. Sessions are found by that hash alone: the page's
 * request carries no API key.
 */

export type ConnectSession = typeof connectSessions.$inferSelect;

export const CONNECT_TOKEN_PATTERN = /^cnct_[A-Za-z0-9_-]{43}$/;

export interface NewConnectSession {
  readonly projectId: string;
  readonly endUserId: string;
  readonly endUserEmail?: string | undefined;
  readonly endUserDisplayName?: string | undefined;
  readonly allowedConnectors?: readonly string[] | undefined;
  readonly connectionId?: string | undefined;
  readonly returnUrl?: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly expiresAt: Date;
}

export async function createConnectSession(
  db: Db,
  input: NewConnectSession,
  now: Date,
): Promise<{ session: ConnectSession; token: string }> {
  const token = `cnct_${randomBytes(32).toString('base64url')}`;
  const [row] = await db
    .insert(connectSessions)
    .values({
      id: newId('cns'),
      projectId: input.projectId,
      tokenHash: hashOf(token).toString('hex'),
      endUserId: input.endUserId,
      endUserEmail: input.endUserEmail ?? null,
      endUserDisplayName: input.endUserDisplayName ?? null,
      allowedConnectors: input.allowedConnectors ? [...input.allowedConnectors] : null,
      connectionId: input.connectionId ?? null,
      returnUrl: input.returnUrl ?? null,
      tags: { ...input.tags },
      createdAt: now,
      expiresAt: input.expiresAt,
    })
    .returning();
  if (!row) throw new Error('inserting a Connect session returned no row');
  return { session: row, token };
}

/** The session a token opens, whatever its state (the caller tells expired and used apart); undefined for anything else. */
export async function findConnectSession(db: Db, token: string): Promise<ConnectSession | undefined> {
  if (!CONNECT_TOKEN_PATTERN.test(token)) return undefined;
  const [row] = await db
    .select()
    .from(connectSessions)
    .where(eq(connectSessions.tokenHash, hashOf(token).toString('hex')));
  return row;
}

/**
 * Marks an open session used, once: false when it was used already or has expired (two tabs
 * finishing at once: one of them makes the connection). `connectionId`: the connection it made,
 * when known now.
 */
export async function useConnectSession(
  db: Db,
  id: string,
  connectionId: string | null,
  now: Date,
): Promise<boolean> {
  const rows = await db
    .update(connectSessions)
    .set({ usedAt: now, resultConnectionId: connectionId })
    .where(
      and(eq(connectSessions.id, id), isNull(connectSessions.usedAt), gt(connectSessions.expiresAt, now)),
    )
    .returning({ id: connectSessions.id });
  return rows.length > 0;
}

/** Records the connection a used session made. */
export async function setConnectResult(db: Db, id: string, connectionId: string): Promise<void> {
  await db
    .update(connectSessions)
    .set({ resultConnectionId: connectionId })
    .where(eq(connectSessions.id, id));
}

/** Opens a session again whose connection could not be made (nothing was saved). */
export async function releaseConnectSession(db: Db, id: string): Promise<void> {
  await db
    .update(connectSessions)
    .set({ usedAt: null, resultConnectionId: null })
    .where(and(eq(connectSessions.id, id), isNull(connectSessions.resultConnectionId)));
}

/**
 * Whether `connectionId` was signed in by a browser sign-in this Connect session started (the
 * OAuth callback completed it): what /connect/done is told cannot be taken on its word.
 */
export async function signedInThrough(
  db: Db,
  projectId: string,
  connectSessionId: string,
  connectionId: string,
): Promise<boolean> {
  const rows = await db
    .select({ id: oauthSessions.id })
    .from(oauthSessions)
    .where(
      and(
        eq(oauthSessions.projectId, projectId),
        eq(oauthSessions.connectionId, connectionId),
        isNotNull(oauthSessions.usedAt),
        sql`${oauthSessions.extra} -> 'connect' ->> 'session' = ${connectSessionId}`,
      ),
    )
    .limit(1);
  return rows.length > 0;
}

/** Deletes the sessions that expired before `before` (they open nothing). */
export async function purgeConnectSessions(db: Db, before: Date): Promise<number> {
  const rows = await db
    .delete(connectSessions)
    .where(lt(connectSessions.expiresAt, before))
    .returning({ id: connectSessions.id });
  return rows.length;
}

/** The project's allowed origins; none until PUT /connect/settings. */
export async function allowedOrigins(db: Db, projectId: string): Promise<string[]> {
  const [row] = await db
    .select({ origins: connectSettings.allowedOrigins })
    .from(connectSettings)
    .where(eq(connectSettings.projectId, projectId));
  return row ? [...row.origins] : [];
}

export async function putAllowedOrigins(
  db: Db,
  projectId: string,
  origins: readonly string[],
  now: Date,
): Promise<string[]> {
  const [row] = await db
    .insert(connectSettings)
    .values({ projectId, allowedOrigins: [...origins], updatedAt: now })
    .onConflictDoUpdate({
      target: connectSettings.projectId,
      set: { allowedOrigins: [...origins], updatedAt: now },
    })
    .returning({ origins: connectSettings.allowedOrigins });
  return row ? [...row.origins] : [...origins];
}
