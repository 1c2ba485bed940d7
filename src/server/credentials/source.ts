import { and, eq } from 'drizzle-orm';
import { checkOverrides } from '../../core/auth/binding.js';
import { oauth2Of, splitScopes } from '../../core/auth/oauth2.js';
import type { Connector } from '../../core/connector/model.js';
import type { Credential, CredentialSource, SuppliedCredential } from '../../core/engine/credential.js';
import { ConnectrError, isConnectrError } from '../../core/errors.js';
import { oauthEndpoints } from '../../core/oauth/endpoints.js';
import { OAuthError, requestToken } from '../../core/oauth/token-endpoint.js';
import type { Env } from '../../core/paths.js';
import type { ServerData } from '../contracts.js';
import { oauthSecretOf, storeTokens } from '../oauth/tokens.js';
import type { OAuthSecret, TokenSet } from '../oauth/tokens.js';
import { resolveServerClient } from '../oauth/client.js';
import type { Connection } from '../store/connections.js';
import { updateConnection } from '../store/connections.js';
import { credentialContext } from '../store/credentials.js';
import { guard } from '../store/open.js';
import type { RouteContext } from '../types.js';
import { callTarget, forgetConnection } from './target.js';
import { requireData } from '../types.js';
import { connections, credentials } from '../store/schema.js';

/**
 * The daemon's CredentialSource: a connection's credential from the database, refreshed when
 * it is about to expire or the API refused it. Refreshes are safe across server instances
 * sharing one Postgres: the refresher holds the credential's row lock (SELECT … FOR UPDATE)
 * while it asks for a token and stores the answer, and reads the row again once it has the
 * lock, so a token another instance refreshed meanwhile is used instead of refreshing twice
 * (a rotated refresh token is sent once, never lost). A refresh refused with invalid_grant
 * marks the connection needs_reauth, and every call says so until it is signed in again.
 */

/** Refresh this long before the provider's expiry, so a token never expires in flight. */
export const REFRESH_MARGIN_MS = 60_000;

/**
 * A token the API refuses within this long of being obtained (signed in or refreshed) is not
 * refreshed again: an API that refuses every token would otherwise cost one grant, with the
 * project's client secret, per call.
 */
export const REFRESH_WINDOW_MS = 30_000;

export interface DatabaseCredentialDeps {
  readonly data: ServerData;
  /** The server's environment: OAuth apps' fallbacks and the connectors' URL overrides. */
  readonly env: Env;
  readonly now?: () => number;
  /** Told about each refresh that ends, with why it failed (metrics). */
  readonly onRefresh?: (connector: string, failure?: string) => void;
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
      onRefresh: (name, failure) => {
        context.metrics.tokenRefresh(name, failure);
      },
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
      if (connector.auth.type === 'none') return { credential: { kind: 'none' }, refreshable: false };
      if (current.status === 'needs_reauth') throw needsReauth(connection, 'its sign-in stopped working');
      if (!stored) throw needsReauth(connection, 'it has no credential yet', 'missing');
      const secret = stored.secret;
      if (connector.auth.type !== 'oauth2')
        return { credential: plainCredential(connection, connector, secret), refreshable: false };
      const tokens = oauthSecret(connection, secret);
      const expiring = stored.expiresAt !== null && stored.expiresAt.getTime() - now() <= REFRESH_MARGIN_MS;
      if (!options.forceRefresh && !expiring) {
        handedOut = tokens.access_token;
        return { credential: bearer(tokens), refreshable: tokens.refresh_token !== undefined };
      }
      if (tokens.refresh_token === undefined) {
        if (options.forceRefresh || (stored.expiresAt !== null && stored.expiresAt.getTime() <= now()))
          throw needsReauth(connection, 'its access token expired and there is no refresh token');
        handedOut = tokens.access_token;
        return { credential: bearer(tokens), refreshable: false };
      }
      const fresh = await refreshLocked(
        deps,
        connection,
        connector,
        options.forceRefresh ? handedOut : undefined,
        now,
      );
      handedOut = fresh.access_token;
      return { credential: bearer(fresh), refreshable: true };
    },
  };
}

/**
 * The refresh under the credential row's lock. `rejected`: the token the API just refused;
 * without it the refresh is for expiry. Whatever the row holds once locked decides: a newer
 * token than the rejected one, or one no longer expiring, is used as it is.
 */
async function refreshLocked(
  deps: DatabaseCredentialDeps,
  connection: Connection,
  connector: Connector,
  rejected: string | undefined,
  now: () => number,
): Promise<OAuthSecret> {
  const { data, env } = deps;
  const auth = oauth2Of(connector);
  checkOverrides(connector, env);
  // Resolved before the lock: a missing app is the operator's to fix, and holds no row.
  const client = await resolveServerClient(data, env, connection.projectId, connector, auth);
  // Set inside the transaction's callback: whether a token request went out, and how it failed.
  const attempt: { asked: boolean; failure?: string } = { asked: false };
  try {
    const outcome = await guard(data.database, () =>
      data.db.transaction(async (tx): Promise<OAuthSecret | { readonly refused: string }> => {
        const [row] = await tx
          .select()
          .from(credentials)
          .where(
            and(eq(credentials.projectId, connection.projectId), eq(credentials.connectionId, connection.id)),
          )
          .for('update');
        if (!row) throw needsReauth(connection, 'its credential was removed', 'missing');
        const tokens = oauthSecret(
          connection,
          JSON.parse(data.keys.decrypt(row.secretEncrypted, credentialContext(connection.id))),
        );
        const stillGood =
          rejected === undefined
            ? row.expiresAt === null || row.expiresAt.getTime() - now() > REFRESH_MARGIN_MS
            : tokens.access_token !== rejected;
        if (stillGood) return tokens;
        if (rejected !== undefined) {
          // Under the lock, so one refresh decides for every instance: the stored token is the
          // one a grant gave (sign-in, push or refresh, which seal it and stamp the connection
          // in one transaction) when it was not replaced since.
          const [current] = await tx
            .select({ obtainedAt: connections.lastRefreshAt })
            .from(connections)
            .where(and(eq(connections.projectId, connection.projectId), eq(connections.id, connection.id)));
          const obtainedAt = current?.obtainedAt;
          if (
            obtainedAt &&
            row.updatedAt.getTime() <= obtainedAt.getTime() &&
            now() - obtainedAt.getTime() < REFRESH_WINDOW_MS
          )
            throw freshTokenRefused(connection, now() - obtainedAt.getTime());
        }
        if (tokens.refresh_token === undefined) throw needsReauth(connection, 'there is no refresh token');
        let answer;
        attempt.asked = true;
        try {
          answer = await requestToken(
            oauthEndpoints(connector.name, auth, env).token,
            auth,
            client,
            { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
            { env },
          );
        } catch (error) {
          if (error instanceof OAuthError && error.error === 'invalid_grant') {
            attempt.failure = 'invalid_grant';
            const reason = `the provider refused its refresh token (invalid_grant${error.description ? `: ${error.description}` : ''})`;
            // Recorded, and committed with the transaction: every later call sees it.
            await updateConnection(tx, connection.projectId, connection.id, {
              status: 'needs_reauth',
              lastError: reason.slice(0, 1000),
            });
            return { refused: reason };
          }
          attempt.failure = error instanceof OAuthError ? error.error : 'network';
          throw error;
        }
        const at = now();
        const expiresAt = answer.expires_in ? new Date(at + answer.expires_in * 1000) : null;
        const scopes = answer.scope === undefined ? tokens.scopes : splitScopes(answer.scope, auth);
        const next: TokenSet = {
          accessToken: answer.access_token,
          tokenType: answer.token_type,
          // Providers that do not rotate refresh tokens send none: keep the one we have.
          refreshToken: answer.refresh_token ?? tokens.refresh_token,
          idToken: answer.id_token ?? tokens.id_token,
          scopes,
          expiresAt,
        };
        // Sealed the one way every OAuth connection's tokens are (oauth/tokens.ts), in this
        // transaction: the row lock is held until both are written.
        await storeTokens(tx, data.keys, connection, next, undefined, new Date(at));
        return oauthSecretOf(next);
      }),
    );
    if ('refused' in outcome) throw needsReauth(connection, outcome.refused);
    return outcome;
  } catch (error) {
    if (attempt.failure === undefined && !isConnectrError(error)) attempt.failure = 'internal';
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
    forgetConnection(data, connection.projectId, connection.id);
    if (attempt.asked) deps.onRefresh?.(connector.name, attempt.failure);
  }
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

function bearer(tokens: OAuthSecret): Credential {
  return { kind: 'bearer', token: tokens.access_token };
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
