import { randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, lt, or } from 'drizzle-orm';
import { isNotNull } from 'drizzle-orm';
import { ConnectrError } from '../../core/errors.js';
import type { KeyRing } from '../crypto.js';
import { requireConnection } from './connections.js';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { connections, oauthSessions } from './schema.js';

/**
 * Browser sign-ins in flight. The state is 256 random bits; the PKCE verifier is sealed by the
 * key ring. A session is consumed at most once: one UPDATE … WHERE used_at IS NULL AND not
 * expired decides, so two callbacks racing with the same state cannot both win.
 */

export const verifierContext = (sessionId: string): string => `oauth_sessions.pkce_verifier:${sessionId}`;

/** How long a sign-in may take by default. */
export const SESSION_TTL_MS = 10 * 60_000;

export interface NewOAuthSession {
  readonly projectId: string;
  readonly connectionId: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  readonly returnUrl?: string | null | undefined;
  readonly extra?: Record<string, unknown> | undefined;
  readonly ttlMs?: number | undefined;
}

export interface OAuthSession {
  readonly id: string;
  readonly projectId: string;
  readonly connectionId: string;
  readonly state: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  readonly returnUrl: string | null;
  readonly extra: Record<string, unknown> | null;
  readonly expiresAt: Date;
}

export async function createOAuthSession(
  db: Db,
  keys: KeyRing,
  input: NewOAuthSession,
  now = new Date(),
): Promise<OAuthSession> {
  await requireConnection(db, input.projectId, input.connectionId);
  const id = newId('oas');
  const state = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + (input.ttlMs ?? SESSION_TTL_MS));
  await db.insert(oauthSessions).values({
    id,
    projectId: input.projectId,
    connectionId: input.connectionId,
    state,
    pkceVerifierEncrypted: keys.encrypt(input.codeVerifier, verifierContext(id)),
    redirectUri: input.redirectUri,
    returnUrl: input.returnUrl ?? null,
    extra: input.extra ?? null,
    createdAt: now,
    expiresAt,
  });
  return {
    id,
    projectId: input.projectId,
    connectionId: input.connectionId,
    state,
    codeVerifier: input.codeVerifier,
    redirectUri: input.redirectUri,
    returnUrl: input.returnUrl ?? null,
    extra: input.extra ?? null,
    expiresAt,
  };
}

/**
 * Takes the session with this state, once: a second call, an expired session or an unknown
 * state is an invalid_input error saying which. `projectId` narrows it to one project (the
 * POST form, which has an API key), `connectionId` to one connection (a state sent for another
 * connection is not found and stays usable); the browser's GET callback has only the state.
 */
export async function consumeOAuthSession(
  db: Db,
  keys: KeyRing,
  state: string,
  options: { projectId?: string | undefined; connectionId?: string | undefined } = {},
  now = new Date(),
): Promise<OAuthSession> {
  const scope = [
    ...(options.projectId === undefined ? [] : [eq(oauthSessions.projectId, options.projectId)]),
    ...(options.connectionId === undefined ? [] : [eq(oauthSessions.connectionId, options.connectionId)]),
  ];
  const [row] = await db
    .update(oauthSessions)
    .set({ usedAt: now })
    .where(
      and(
        eq(oauthSessions.state, state),
        isNull(oauthSessions.usedAt),
        gt(oauthSessions.expiresAt, now),
        ...scope,
      ),
    )
    .returning();
  if (!row) {
    const [seen] = await db
      .select({ usedAt: oauthSessions.usedAt, expiresAt: oauthSessions.expiresAt })
      .from(oauthSessions)
      .where(and(eq(oauthSessions.state, state), ...scope));
    const message = !seen
      ? 'no sign-in is pending with this state (unknown state)'
      : seen.usedAt
        ? 'this sign-in was already used: a state is good for one callback'
        : 'this sign-in has expired';
    throw new ConnectrError('invalid_input', message, {
      hint: 'start the sign-in again with POST /api/v1/oauth/authorize',
    });
  }
  return {
    id: row.id,
    projectId: row.projectId,
    connectionId: row.connectionId,
    state: row.state,
    codeVerifier: keys.decrypt(row.pkceVerifierEncrypted, verifierContext(row.id)),
    redirectUri: row.redirectUri,
    returnUrl: row.returnUrl,
    extra: row.extra,
    expiresAt: row.expiresAt,
  };
}

/**
 * The states of the sign-ins still pending (unused, unexpired) in a project for one connector
 * and redirect URI: how POST /oauth/callback without a state finds its flow, only when there is
 * exactly one. At most `limit` (two tell "more than one").
 */
export async function pendingOAuthStates(
  db: Db,
  projectId: string,
  filter: { connector: string; redirectUri: string },
  now = new Date(),
  limit = 2,
): Promise<{ state: string; connectionId: string }[]> {
  return db
    .select({ state: oauthSessions.state, connectionId: oauthSessions.connectionId })
    .from(oauthSessions)
    .innerJoin(
      connections,
      and(eq(connections.id, oauthSessions.connectionId), eq(connections.projectId, oauthSessions.projectId)),
    )
    .where(
      and(
        eq(oauthSessions.projectId, projectId),
        eq(connections.connector, filter.connector),
        eq(oauthSessions.redirectUri, filter.redirectUri),
        isNull(oauthSessions.usedAt),
        gt(oauthSessions.expiresAt, now),
      ),
    )
    .limit(limit);
}

/** Deletes sessions that expired or were used more than `olderThanMs` ago; returns how many. */
export async function purgeOAuthSessions(
  db: Db,
  now = new Date(),
  olderThanMs = 24 * 3600_000,
): Promise<number> {
  const before = new Date(now.getTime() - olderThanMs);
  const rows = await db
    .delete(oauthSessions)
    .where(
      or(
        lt(oauthSessions.expiresAt, before),
        and(isNotNull(oauthSessions.usedAt), lt(oauthSessions.usedAt, before)),
      ),
    )
    .returning({ id: oauthSessions.id });
  return rows.length;
}
