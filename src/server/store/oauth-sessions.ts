import { randomBytes } from 'node:crypto';
import { and, count, eq, gt, isNull, lt, or } from 'drizzle-orm';
import { isNotNull } from 'drizzle-orm';
import { ConnectrError } from '../../core/errors.js';
import type { KeyRing } from '../crypto.js';
import { FieldError } from '../errors.js';
import { requireConnection } from './connections.js';
import type { Db } from './db.js';
import { newId } from './ids.js';
import { oauthSessions, projects } from './schema.js';

/**
 * Browser sign-ins in flight. The state is 256 random bits; the PKCE verifier is sealed by the
 * key ring. A session is consumed at most once: one UPDATE … WHERE used_at IS NULL AND not
 * expired decides, so two callbacks racing with the same state cannot both win. A session
 * started with a connector alone (the old system's form) belongs to no connection until it is
 * consumed: the same UPDATE binds it to the connection it completes into.
 */

export const verifierContext = (sessionId: string): string => `oauth_sessions.pkce_verifier:${sessionId}`;

/** How long a sign-in may take by default. */
export const SESSION_TTL_MS = 10 * 60_000;

/**
 * How long a session is kept once expired or used, before the purge deletes it: a callback that
 * comes back late is told "expired" or "already used" rather than "unknown state".
 */
export const SESSION_KEEP_MS = 60 * 60_000;

/** The most sign-ins a project may have pending at once, by default (`serve --max-sign-ins`). */
export const DEFAULT_MAX_PENDING_SIGN_INS = 1000;

export interface NewOAuthSession {
  readonly projectId: string;
  /** Null: bound to a connection only when it completes. */
  readonly connectionId: string | null;
  /** The connector signed in to: the connection's when there is one, else required. */
  readonly connector?: string | undefined;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  readonly returnUrl?: string | null | undefined;
  readonly extra?: Record<string, unknown> | undefined;
  readonly ttlMs?: number | undefined;
  /** At most this many pending (unused, unexpired) in the project, this one included; else a 429. */
  readonly maxPending?: number | undefined;
}

export interface OAuthSession {
  readonly id: string;
  readonly projectId: string;
  readonly connectionId: string | null;
  readonly connector: string;
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
  let connector = input.connector;
  if (input.connectionId !== null) {
    const connection = await requireConnection(db, input.projectId, input.connectionId);
    if (connector !== undefined && connector !== connection.connector) {
      throw new Error(`a sign-in of ${connector} for a connection of ${connection.connector}`);
    }
    connector = connection.connector;
  }
  if (connector === undefined) throw new Error('a sign-in bound to no connection needs its connector');
  const id = newId('oas');
  const state = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + (input.ttlMs ?? SESSION_TTL_MS));
  const maxPending = input.maxPending ?? DEFAULT_MAX_PENDING_SIGN_INS;
  await db.transaction(async (tx) => {
    // The project's row lock makes count-then-insert one step for every instance on the
    // database, and for this project alone. NO KEY UPDATE: connections and keys being created
    // in the project meanwhile (their foreign keys take KEY SHARE) are not held up.
    await tx
      .select({ id: projects.id })
      .from(projects)
      .where(eq(projects.id, input.projectId))
      .for('no key update');
    const [pending] = await tx
      .select({ n: count() })
      .from(oauthSessions)
      .where(
        and(
          eq(oauthSessions.projectId, input.projectId),
          isNull(oauthSessions.usedAt),
          gt(oauthSessions.expiresAt, now),
        ),
      );
    if ((pending?.n ?? 0) >= maxPending) throw tooManySignIns(maxPending);
    await tx.insert(oauthSessions).values({
      id,
      projectId: input.projectId,
      connectionId: input.connectionId,
      connector,
      state,
      pkceVerifierEncrypted: keys.encrypt(input.codeVerifier, verifierContext(id)),
      redirectUri: input.redirectUri,
      returnUrl: input.returnUrl ?? null,
      extra: input.extra ?? null,
      createdAt: now,
      expiresAt,
    });
  });
  return {
    id,
    projectId: input.projectId,
    connectionId: input.connectionId,
    connector,
    state,
    codeVerifier: input.codeVerifier,
    redirectUri: input.redirectUri,
    returnUrl: input.returnUrl ?? null,
    extra: input.extra ?? null,
    expiresAt,
  };
}

/** 429: the project has as many sign-ins pending as it may; they expire within SESSION_TTL_MS. */
function tooManySignIns(maxPending: number): ConnectrError {
  return new ConnectrError(
    'too_many_sign_ins',
    `this project has ${maxPending} sign-ins pending, the most it may have at once`,
    {
      hint: `finish or wait for pending sign-ins (each expires within ${SESSION_TTL_MS / 60_000} minutes); the operator sets the limit with connectr serve --max-sign-ins`,
    },
  );
}

/** Why a session could not be consumed: what the callback tells the browser or the app. */
export type SessionRefusal =
  'unknown' | 'used' | 'expired' | 'other_connector' | 'other_connection' | 'other_redirect_uri';

/**
 * A refused consumption: an invalid_input error whose `reason` says which. `session` is the row
 * found (project, connection, return URL), when there is one, for the browser's way back.
 */
export class SessionRefused extends FieldError {
  constructor(
    readonly reason: SessionRefusal,
    message: string,
    readonly session:
      Pick<OAuthSession, 'projectId' | 'connectionId' | 'connector' | 'returnUrl'> | undefined,
    field = 'body.state',
  ) {
    super(field, message, { hint: 'start the sign-in again with POST /api/v1/oauth/authorize' });
    this.name = 'SessionRefused';
  }
}

/** The connection a sign-in completes into, when the caller names one (the POST form). */
export interface CompletionTarget {
  readonly id: string;
  readonly connector: string;
}

/**
 * Takes the session with this state, once: a second call, an expired session or an unknown
 * state is a SessionRefused error saying which. `projectId` narrows it to one project (the POST
 * form, which has an API key); `connection` to the sign-ins that may complete into it (its
 * own, or one bound to none, of its connector), which the same UPDATE binds to it; a state
 * refused for another connection, connector or redirect URI stays usable. The browser's GET
 * callback has only the state.
 */
export async function consumeOAuthSession(
  db: Db,
  keys: KeyRing,
  state: string,
  options: {
    projectId?: string | undefined;
    connection?: CompletionTarget | undefined;
    redirectUri?: string | undefined;
  } = {},
  now = new Date(),
): Promise<OAuthSession> {
  const { projectId, connection, redirectUri } = options;
  const project = projectId === undefined ? [] : [eq(oauthSessions.projectId, projectId)];
  const [row] = await db
    .update(oauthSessions)
    .set({ usedAt: now, ...(connection === undefined ? {} : { connectionId: connection.id }) })
    .where(
      and(
        eq(oauthSessions.state, state),
        isNull(oauthSessions.usedAt),
        gt(oauthSessions.expiresAt, now),
        ...project,
        ...(connection === undefined
          ? []
          : [
              eq(oauthSessions.connector, connection.connector),
              or(isNull(oauthSessions.connectionId), eq(oauthSessions.connectionId, connection.id)),
            ]),
        ...(redirectUri === undefined ? [] : [eq(oauthSessions.redirectUri, redirectUri)]),
      ),
    )
    .returning();
  if (!row) {
    const [seen] = await db
      .select()
      .from(oauthSessions)
      .where(and(eq(oauthSessions.state, state), ...project));
    throw refusal(seen, options, now);
  }
  return {
    id: row.id,
    projectId: row.projectId,
    connectionId: row.connectionId,
    connector: row.connector,
    state: row.state,
    codeVerifier: keys.decrypt(row.pkceVerifierEncrypted, verifierContext(row.id)),
    redirectUri: row.redirectUri,
    returnUrl: row.returnUrl,
    extra: row.extra,
    expiresAt: row.expiresAt,
  };
}

function refusal(
  seen: typeof oauthSessions.$inferSelect | undefined,
  options: { connection?: CompletionTarget | undefined; redirectUri?: string | undefined },
  now: Date,
): SessionRefused {
  if (!seen)
    return new SessionRefused('unknown', 'no sign-in is pending with this state (unknown state)', undefined);
  const { connection, redirectUri } = options;
  if (seen.usedAt) {
    return new SessionRefused(
      'used',
      'this sign-in was already used: a state is good for one callback',
      seen,
    );
  }
  if (seen.expiresAt.getTime() <= now.getTime()) {
    return new SessionRefused('expired', 'this sign-in has expired', seen);
  }
  if (connection && seen.connector !== connection.connector) {
    return new SessionRefused(
      'other_connector',
      `this sign-in is to ${seen.connector}, and connection ${connection.id} is a ${connection.connector} connection`,
      seen,
      'body.connection_id',
    );
  }
  if (connection && seen.connectionId !== null && seen.connectionId !== connection.id) {
    return new SessionRefused(
      'other_connection',
      `this sign-in was started for another connection, not ${connection.id}`,
      seen,
      'body.connection_id',
    );
  }
  if (redirectUri !== undefined && seen.redirectUri !== redirectUri) {
    return new SessionRefused(
      'other_redirect_uri',
      'redirect_uri is not the one this sign-in was started with',
      seen,
      'body.redirect_uri',
    );
  }
  // Consumed between the UPDATE and this look: by a racing callback.
  return new SessionRefused('used', 'this sign-in was already used: a state is good for one callback', seen);
}

/** A pending sign-in, as POST /oauth/callback without a state looks for it. */
export interface PendingSignIn {
  readonly state: string;
  readonly connectionId: string | null;
  readonly connector: string;
}

/**
 * The sign-ins still pending (unused, unexpired) in a project with this redirect URI, of one
 * connector or (`connector` undefined) of any: how POST /oauth/callback without a state finds
 * its flow, only when there is exactly one. At most `limit` (two tell "more than one").
 */
export async function pendingSignIns(
  db: Db,
  projectId: string,
  filter: { connector?: string | undefined; redirectUri: string },
  now = new Date(),
  limit = 2,
): Promise<PendingSignIn[]> {
  return db
    .select({
      state: oauthSessions.state,
      connectionId: oauthSessions.connectionId,
      connector: oauthSessions.connector,
    })
    .from(oauthSessions)
    .where(
      and(
        eq(oauthSessions.projectId, projectId),
        ...(filter.connector === undefined ? [] : [eq(oauthSessions.connector, filter.connector)]),
        eq(oauthSessions.redirectUri, filter.redirectUri),
        isNull(oauthSessions.usedAt),
        gt(oauthSessions.expiresAt, now),
      ),
    )
    .limit(limit);
}

/** Binds a consumed sign-in to the connection it completed into (the browser's form, which made it). */
export async function bindOAuthSession(db: Db, sessionId: string, connectionId: string): Promise<void> {
  await db
    .update(oauthSessions)
    .set({ connectionId })
    .where(and(eq(oauthSessions.id, sessionId), isNull(oauthSessions.connectionId)));
}

/**
 * Deletes sessions that expired or were used more than `olderThanMs` ago; returns how many.
 * Safe to run from every instance at once: a row another one deleted is simply not found.
 */
export async function purgeOAuthSessions(
  db: Db,
  now = new Date(),
  olderThanMs = SESSION_KEEP_MS,
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
