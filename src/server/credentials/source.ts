import { checkOverrides } from '../../core/auth/binding.js';
import { CHECK_FAILED } from '../../core/calls/health.js';
import { oauth2Of } from '../../core/auth/oauth2.js';
import {
  LOCK_LOST,
  REFRESH_WINDOW_MS,
  expiresSoon,
  refreshTokens,
  renewable,
} from '../../core/auth/refresh-protocol.js';
import type {
  HeldTokens,
  RefreshEvent,
  RefreshLock,
  RefreshRequest,
  RenewGrant,
} from '../../core/auth/refresh-protocol.js';
import type { Connector } from '../../core/connector/model.js';
import type { Credential, CredentialSource, SuppliedCredential } from '../../core/engine/credential.js';
import { ConnectrError, isConnectrError } from '../../core/errors.js';
import type { Env } from '../../core/paths.js';
import type { ServerData } from '../contracts.js';
import { storeTokens } from '../oauth/tokens.js';
import type { OAuthSecret } from '../oauth/tokens.js';
import { resolveServerClient } from '../oauth/client.js';
import type { Connection } from '../store/connections.js';
import { lockConnection, updateConnection } from '../store/connections.js';
import { recordConnectionEvent } from '../webhooks/events.js';
import { withCredentialLocked } from '../store/credential-lock.js';
import { guard } from '../store/open.js';
import { noteUse } from '../health/usage.js';
import type { RouteContext } from '../types.js';
import { callTarget, forgetConnection } from './target.js';
import { requireData } from '../types.js';

/**
 * The daemon's CredentialSource: a connection's credential from the database, refreshed when
 * it is about to expire or the API refused it, by the one refresh algorithm
 * (core/auth/refresh-protocol.ts) under the credential's row lock (store/credential-lock.ts):
 * safe across server instances sharing one Postgres, a rotated refresh token sent once and never
 * lost. A refresh refused with invalid_grant marks the connection needs_reauth, and every call
 * says so until it is signed in again. A connector that signs no one in (client credentials only)
 * gets a new token with the project's OAuth app, as the CLI's accounts do.
 */

/** Who a refresh event is about: the daemon's metrics today, its webhooks next. */
export interface RefreshSubject {
  readonly projectId: string;
  readonly connectionId: string;
  readonly connector: string;
}

export interface DatabaseCredentialDeps {
  readonly data: ServerData;
  /** The server's environment: OAuth apps' fallbacks and the connectors' URL overrides. */
  readonly env: Env;
  readonly now?: () => number;
  /** Told about each refresh that asked the provider, and how it ended. */
  readonly onRefresh?: (event: RefreshEvent, subject: RefreshSubject) => void;
  /**
   * A health check's source (server/health/check.ts): not a use of the connection (last_used_at
   * stays), and a connection a failed check marked needs_reauth is tried again.
   */
  readonly check?: boolean;
}

/** Each refresh that asked the provider counted in /metrics (calls, health checks, renewals alike). */
export function countedRefresh(context: RouteContext): NonNullable<DatabaseCredentialDeps['onRefresh']> {
  return (event, subject) => {
    context.metrics.tokenRefresh(
      subject.connector,
      event.type === 'refresh_failed' ? event.failure : undefined,
    );
  };
}

/**
 * The source a route uses for a connection: the server's database and environment, with each
 * refresh counted in /metrics.
 */
export function routeCredentials(
  context: RouteContext,
  connection: Connection,
  connector: Connector,
): CredentialSource {
  return databaseCredentials(
    {
      data: requireData(context),
      env: context.deps.env ?? {},
      ...(context.deps.now ? { now: context.deps.now } : {}),
      onRefresh: countedRefresh(context),
    },
    connection,
    connector,
  );
}

export function databaseCredentials(
  deps: DatabaseCredentialDeps,
  connection: Connection,
  connector: Connector,
): CredentialSource {
  const now = deps.now ?? Date.now;
  // The token handed out last: a forced refresh replaces it only if it is still the stored one.
  let handedOut: string | undefined;
  return {
    async credential(options = {}): Promise<SuppliedCredential> {
      // Read through the instance's cache (credentials/target.ts); a refresh reads the row itself.
      const { stored, connection: current } = await callTarget(
        deps.data,
        connection.projectId,
        connection.id,
      );
      if (!deps.check) noteUse(deps.data, current, now());
      if (connector.auth.type === 'none') return { credential: { kind: 'none' }, refreshable: false };
      if (current.status === 'needs_reauth' && !(deps.check && current.lastErrorCode === CHECK_FAILED))
        throw needsReauth(connection, 'its sign-in stopped working');
      if (!stored) throw needsReauth(connection, 'it has no credential yet', 'missing');
      const secret = stored.secret;
      if (connector.auth.type !== 'oauth2')
        return { credential: plainCredential(connection, connector, secret), refreshable: false };
      const tokens = heldTokens(connection, connector, secret, stored.expiresAt);
      if (!options.forceRefresh && !expiresSoon(tokens.expiresAt, now())) {
        handedOut = tokens.accessToken;
        return { credential: bearer(tokens.accessToken), refreshable: renewable(tokens) };
      }
      if (!renewable(tokens)) {
        if (options.forceRefresh || (tokens.expiresAt !== undefined && tokens.expiresAt <= now()))
          throw needsReauth(connection, 'its access token expired and there is no refresh token');
        handedOut = tokens.accessToken;
        return { credential: bearer(tokens.accessToken), refreshable: false };
      }
      const fresh = await refreshConnection(
        deps,
        connection,
        connector,
        options.forceRefresh ? handedOut : undefined,
        now,
      );
      handedOut = fresh.accessToken;
      return { credential: bearer(fresh.accessToken ?? ''), refreshable: true };
    },
  };
}

/**
 * The health task's refresh of an OAuth connection ahead of need (RefreshRequest.ahead), through
 * the same algorithm and row lock as a call's; nothing is sent for a connection with nothing to renew with.
 */
export async function refreshAhead(
  deps: DatabaseCredentialDeps,
  connection: Connection,
  connector: Connector,
  ahead: NonNullable<RefreshRequest['ahead']>,
): Promise<void> {
  if (connector.auth.type !== 'oauth2') return;
  const { stored } = await callTarget(deps.data, connection.projectId, connection.id);
  if (!stored) return;
  if (!renewable(heldTokens(connection, connector, stored.secret, stored.expiresAt))) return;
  await refreshConnection(deps, connection, connector, undefined, deps.now ?? Date.now, ahead);
}

/**
 * The refresh of one connection's tokens. `rejected`: the token the API just refused; without
 * it the refresh is for expiry (or `ahead` of it).
 */
async function refreshConnection(
  deps: DatabaseCredentialDeps,
  connection: Connection,
  connector: Connector,
  rejected: string | undefined,
  now: () => number,
  ahead?: RefreshRequest['ahead'],
): Promise<HeldTokens> {
  const { data, env } = deps;
  const auth = oauth2Of(connector);
  checkOverrides(connector, env);
  // Resolved before the lock: a missing app is the operator's to fix, and holds no row.
  const client = await resolveServerClient(data, env, connection.projectId, connector, auth);
  const subject = { projectId: connection.projectId, connectionId: connection.id, connector: connector.name };
  try {
    return await refreshTokens(rowLock(deps, connection, connector), {
      connector,
      rejected,
      client: () => Promise.resolve(client),
      env,
      http: { env },
      now,
      onEvent: (event) => deps.onRefresh?.(event, subject),
      ahead,
    });
  } catch (error) {
    // Not in connectr's words (a database fault, a bug): its text may quote a statement and
    // its values (the sealed tokens, the project's id), so it is the cause, for the log only.
    throw isConnectrError(error)
      ? error
      : new ConnectrError(
          'unavailable',
          `refreshing the token of connection ${connection.id} failed; the server log has the details`,
          { hint: 'try again shortly', cause: error },
        );
  } finally {
    // Whatever the row holds now (this refresh's token, another instance's, needs_reauth) is
    // read again by the next call.
    await forgetConnection(data, connection.projectId, connection.id);
  }
}

/** A connection's tokens under its credential row's lock, in the database's transaction. */
function rowLock(deps: DatabaseCredentialDeps, connection: Connection, connector: Connector): RefreshLock {
  const { data } = deps;
  return {
    run: (work) =>
      guard(data.database, () =>
        withCredentialLocked(data.db, data.keys, connection, async (locked) => {
          const { tx, stored } = locked;
          if (!stored) throw needsReauth(connection, 'its credential was removed', 'missing');
          const outcome = await work({
            read: () =>
              Promise.resolve({
                ...heldTokens(connection, connector, stored.secret, stored.expiresAt),
                obtainedAt: locked.obtainedAt?.getTime(),
              }),
            async write(tokens) {
              // Sealed the one way every OAuth connection's tokens are (oauth/tokens.ts), in this
              // transaction: the row lock is held until both are written.
              await storeTokens(
                tx,
                data.keys,
                connection,
                {
                  accessToken: tokens.accessToken,
                  tokenType: tokens.tokenType,
                  refreshToken: tokens.refreshToken,
                  idToken: tokens.idToken,
                  scopes: tokens.scopes,
                  expiresAt: tokens.expiresAt === undefined ? null : new Date(tokens.expiresAt),
                },
                undefined,
                new Date(tokens.obtainedAt),
              );
            },
            // A row lock is held until the transaction ends: never lost.
            lost: () => false,
            async refused(error) {
              // Committed with the transaction: every later call sees it, and its event with it;
              // one event per breakage (a connection already marked is not announced again).
              const reason = refusedReason(error).slice(0, 1000);
              const before = await lockConnection(tx, connection.projectId, connection.id);
              const after = await updateConnection(tx, connection.projectId, connection.id, {
                status: 'needs_reauth',
                lastError: reason,
                lastErrorCode: 'refresh_rejected',
              });
              if (after && before?.status !== 'needs_reauth')
                await recordConnectionEvent(
                  tx,
                  {
                    type: 'connection.needs_reauth',
                    connection: after,
                    reason: { code: 'refresh_rejected', message: reason },
                  },
                  new Date((deps.now ?? Date.now)()),
                );
            },
          });
          if (outcome === LOCK_LOST) throw new Error('a row lock is never lost');
          return outcome;
        }),
      ),
    noRefreshToken: () => needsReauth(connection, 'there is no refresh token'),
    signInRefused: (error) => needsReauth(connection, refusedReason(error)),
    freshTokenRefused: (ageMs) => freshTokenRefused(connection, ageMs),
  };
}

function refusedReason(error: { readonly description: string | undefined }): string {
  return `the provider refused its refresh token (invalid_grant${error.description ? `: ${error.description}` : ''})`;
}

/**
 * 502 refreshed_token_rejected: the API refused a token obtained moments ago. Another refresh
 * would most likely be refused too, and each costs a grant with the project's client secret.
 */
function freshTokenRefused(connection: Connection, ageMs: number): ConnectrError {
  const age = Math.max(0, Math.round(ageMs / 1000));
  return new ConnectrError(
    'refreshed_token_rejected',
    `${connection.connector} refused the access token of connection ${connection.id}, obtained ${age} s ago; it is refreshed at most once every ${REFRESH_WINDOW_MS / 1000} s`,
    {
      hint: "check the connection's scopes and the API's own error (the first refused call returned it); if it persists, sign the user in again: POST /api/v1/oauth/authorize with this connection_id",
    },
  );
}

/** 409 needs_reauth: the connection exists but cannot call its API until it is signed in (again). */
function needsReauth(
  connection: Connection,
  why: string,
  kind: 'missing' | 'refused' = 'refused',
): ConnectrError {
  return new ConnectrError(
    'needs_reauth',
    `connection ${connection.id} cannot call ${connection.connector}: ${why}`,
    {
      hint:
        kind === 'missing'
          ? 'give it a credential: POST /api/v1/oauth/authorize (OAuth) or PUT /api/v1/connections/{id}/credentials'
          : 'sign the user in again: POST /api/v1/oauth/authorize with this connection_id',
    },
  );
}

/**
 * How a connection's access token is renewed: a connector that signs no one in (only the client
 * credentials grant, as `connectr auth` decides) asks for a new one with the project's OAuth app.
 */
function renewGrant(connector: Connector): RenewGrant {
  const auth = oauth2Of(connector);
  return auth.grants.includes('authorization_code') || auth.grants.includes('device_code')
    ? 'refresh_token'
    : 'client_credentials';
}

/** A connection's sealed OAuth secret as the refresh sees it. */
function heldTokens(
  connection: Connection,
  connector: Connector,
  secret: unknown,
  expiresAt: Date | null,
): HeldTokens & { readonly accessToken: string } {
  const tokens = oauthSecret(connection, secret);
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    tokenType: tokens.token_type,
    idToken: tokens.id_token,
    scopes: tokens.scopes,
    expiresAt: expiresAt?.getTime(),
    grant: renewGrant(connector),
  };
}

function oauthSecret(connection: Connection, secret: unknown): OAuthSecret {
  const s = secret as Partial<OAuthSecret> | null;
  if (typeof s?.access_token !== 'string' || s.access_token === '')
    throw needsReauth(connection, 'it holds no access token', 'missing');
  return {
    access_token: s.access_token,
    token_type: typeof s.token_type === 'string' ? s.token_type : 'Bearer',
    ...(typeof s.refresh_token === 'string' && s.refresh_token !== ''
      ? { refresh_token: s.refresh_token }
      : {}),
    ...(typeof s.id_token === 'string' ? { id_token: s.id_token } : {}),
    scopes: Array.isArray(s.scopes) ? s.scopes.filter((x): x is string => typeof x === 'string') : [],
    ...(typeof s.expires_at === 'string' ? { expires_at: s.expires_at } : {}),
  };
}

function bearer(token: string): Credential {
  return { kind: 'bearer', token };
}

/** An API key or a user name and password, as PUT /connections/{id}/credentials stored it. */
function plainCredential(connection: Connection, connector: Connector, secret: unknown): Credential {
  const field = (key: string): string | undefined => {
    if (typeof secret !== 'object' || secret === null) return undefined;
    const value: unknown = (secret as Record<string, unknown>)[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  switch (connector.auth.type) {
    case 'api_key': {
      const key = field('api_key');
      if (key) return { kind: 'api_key', key };
      break;
    }
    case 'basic': {
      const username = field('username');
      const password = field('password');
      if (username !== undefined && password !== undefined) return { kind: 'basic', username, password };
      break;
    }
    case 'none':
      return { kind: 'none' };
    default:
      break;
  }
  throw needsReauth(
    connection,
    `its stored credential does not fit ${connector.name}'s ${connector.auth.type} auth`,
    'missing',
  );
}
