import { checkOverrides } from '../../core/auth/binding.js';
import { discoverAccount } from '../../core/auth/identity.js';
import { oauth2Of, splitScopes } from '../../core/auth/oauth2.js';
import type { Connector } from '../../core/connector/model.js';
import type { Registry } from '../../core/connector/registry.js';
import { ConnectrError, isConnectrError, messageOf } from '../../core/errors.js';
import type { HttpOptions } from '../../core/http/request.js';
import { authorizationUrl } from '../../core/oauth/authorize-url.js';
import { oauthEndpoints } from '../../core/oauth/endpoints.js';
import type { OAuth2Auth } from '../../core/oauth/endpoints.js';
import { createPkce } from '../../core/oauth/pkce.js';
import { requestToken } from '../../core/oauth/token-endpoint.js';
import type { OAuthClient } from '../../core/oauth/token-endpoint.js';
import type { Env } from '../../core/paths.js';
import type { ServerData } from '../contracts.js';
import { requireConnection, updateConnection } from '../store/connections.js';
import { createConnectionWithEvent } from '../webhooks/changes.js';
import type { Connection } from '../store/connections.js';
import { bindOAuthSession, createOAuthSession } from '../store/oauth-sessions.js';
import type { OAuthSession } from '../store/oauth-sessions.js';
import { changeConnection } from '../credentials/target.js';
import { guard } from '../store/open.js';
import { resolveServerClient } from './client.js';
import { storeTokens } from './tokens.js';

/**
 * The server's OAuth web flow, from the core's pieces (PKCE, the authorization URL, the token
 * endpoint, identity discovery): `startAuthorization` records a session (state, sealed PKCE
 * verifier, redirect URI) and builds the provider's URL; `completeAuthorization` exchanges the
 * code of a consumed session and stores the tokens, sealed, on the connection.
 */

export interface FlowDeps {
  readonly data: ServerData;
  readonly env: Env;
  /** Tells the operator something (a log line): never a secret. */
  readonly notify: (message: string) => void;
  /** The server's clock (ms since the epoch); Date.now when absent. */
  readonly now?: (() => number) | undefined;
}

/** What a sign-in session carries besides its columns. */
interface SessionExtra {
  readonly scopes: string[];
  readonly pkce: boolean;
}

export type { OAuthSecret } from './tokens.js';

function httpFor(env: Env): HttpOptions {
  return { env };
}

/** The connector's OAuth settings for the browser flow, or a 400 saying why it has none. */
function browserAuth(
  connector: Connector,
  env: Env,
): { auth: OAuth2Auth; authorization: string; token: string } {
  const auth = oauth2Of(connector);
  checkOverrides(connector, env);
  const endpoints = oauthEndpoints(connector.name, auth, env);
  if (!endpoints.authorization || !auth.grants.includes('authorization_code')) {
    throw new ConnectrError('invalid_input', `${connector.name} does not offer the browser sign-in`, {
      hint: `its grants are ${auth.grants.join(', ')}; sign in with the CLI (connectr auth ${connector.name}) and push the account`,
    });
  }
  return { auth, authorization: endpoints.authorization, token: endpoints.token };
}

export interface StartedAuthorization {
  readonly authorizationUrl: string;
  readonly state: string;
  readonly expiresAt: Date;
}

/** What a sign-in to a connector needs, checked before anything is written. */
export interface PreparedAuthorization {
  readonly connector: Connector;
  readonly auth: OAuth2Auth;
  readonly authorization: string;
  readonly client: OAuthClient;
}

/** The connector's browser sign-in and the project's OAuth app, or a 400 saying what is missing. */
export async function prepareAuthorization(
  deps: FlowDeps,
  projectId: string,
  connector: Connector,
): Promise<PreparedAuthorization> {
  const { auth, authorization } = browserAuth(connector, deps.env);
  const client = await resolveServerClient(deps.data, deps.env, projectId, connector, auth);
  return { connector, auth, authorization, client };
}

/**
 * Records a sign-in and builds the provider's URL. `connection` null: the old system's form,
 * a sign-in of the connector that belongs to no connection until it completes.
 */
export async function startAuthorization(
  deps: FlowDeps,
  prepared: PreparedAuthorization,
  projectId: string,
  connection: Connection | null,
  input: {
    redirectUri: string;
    returnUrl: string | undefined;
    maxPending?: number | undefined;
    connect?: ConnectExtra | undefined;
  },
): Promise<StartedAuthorization> {
  const { data } = deps;
  const { auth, authorization, client } = prepared;
  // The store needs a verifier either way; it is sent only where the connector uses PKCE.
  const pkce = createPkce();
  const extra: SessionExtra = { scopes: [...auth.scopes], pkce: auth.pkce };
  const session = await guard(data.database, () =>
    createOAuthSession(
      data.db,
      data.keys,
      {
        projectId,
        connectionId: connection?.id ?? null,
        connector: prepared.connector.name,
        codeVerifier: pkce.verifier,
        redirectUri: input.redirectUri,
        returnUrl: input.returnUrl,
        extra: { ...extra, ...(input.connect ? { connect: { ...input.connect } } : {}) },
        maxPending: input.maxPending,
      },
      new Date((deps.now ?? Date.now)()),
    ),
  );
  const url = authorizationUrl(authorization, auth, {
    clientId: client.clientId,
    redirectUri: input.redirectUri,
    scopes: auth.scopes,
    state: session.state,
    codeChallenge: auth.pkce ? pkce.challenge : undefined,
  });
  return { authorizationUrl: url, state: session.state, expiresAt: session.expiresAt };
}

/**
 * A sign-in started by the Connect page (docs/connect.md): its session, and what the connection
 * it makes gets (the end user's id, the tags) when it signs no existing connection in.
 */
export interface ConnectExtra {
  readonly session: string;
  readonly userId: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** The Connect session a sign-in was started by, as its session recorded it; undefined for any other. */
export function connectExtraOf(session: OAuthSession): ConnectExtra | undefined {
  const connect = session.extra?.connect;
  if (typeof connect !== 'object' || connect === null) return undefined;
  const { session: id, userId, tags } = connect as Record<string, unknown>;
  if (typeof id !== 'string' || typeof userId !== 'string' || typeof tags !== 'object' || tags === null)
    return undefined;
  const strings = Object.entries(tags).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  return { session: id, userId, tags: Object.fromEntries(strings) };
}

function extraOf(session: OAuthSession): SessionExtra {
  const extra = session.extra ?? {};
  const scopes = Array.isArray(extra.scopes) ? extra.scopes.filter((s) => typeof s === 'string') : [];
  return { scopes, pkce: extra.pkce !== false };
}

/**
 * Exchanges the code of a consumed session (its verifier, its redirect URI) and makes the
 * connection active with the tokens sealed in the store. A refused or failed exchange is
 * recorded as the connection's last_error and thrown. A session bound to no connection (the
 * old form, completed by the browser) gets one, named after the connector, only once the
 * exchange succeeded: a refused sign-in leaves nothing behind.
 */
export async function completeAuthorization(
  deps: FlowDeps,
  registry: Registry,
  session: OAuthSession,
  code: string,
): Promise<Connection> {
  const { data, env } = deps;
  const bound = session.connectionId;
  let connection =
    bound === null
      ? undefined
      : await guard(data.database, () => requireConnection(data.db, session.projectId, bound));
  try {
    const connector = registry.require(connection?.connector ?? session.connector);
    const { auth, token } = browserAuth(connector, env);
    const client = await resolveServerClient(data, env, session.projectId, connector, auth);
    const extra = extraOf(session);
    const tokens = await requestToken(
      token,
      auth,
      client,
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: session.redirectUri,
        code_verifier: extra.pkce ? session.codeVerifier : undefined,
      },
      httpFor(env),
    );
    const now = new Date();
    const { identity, accountKey } = await discoverAccount(
      connector,
      { kind: 'bearer', token: tokens.access_token },
      tokens.id_token,
      { env, http: httpFor(env), notify: deps.notify },
    );
    const scopes = tokens.scope === undefined ? extra.scopes : splitScopes(tokens.scope, auth);
    const expiresAt = tokens.expires_in ? new Date(now.getTime() + tokens.expires_in * 1000) : null;
    if (connection === undefined) {
      const made = await guard(data.database, () =>
        data.db.transaction(async (tx) => {
          const connect = connectExtraOf(session);
          const created = await createConnectionWithEvent(
            tx,
            {
              projectId: session.projectId,
              connector: connector.name,
              name: connector.name,
              ...(connect ? { userId: connect.userId, tags: connect.tags } : {}),
            },
            now,
          );
          await bindOAuthSession(tx, session.id, created.id);
          return created;
        }),
      );
      connection = made;
    }
    const target = connection;
    const updated = await changeConnection(data, target.projectId, target.id, () =>
      guard(data.database, () =>
        storeTokens(
          data.db,
          data.keys,
          target,
          {
            accessToken: tokens.access_token,
            tokenType: tokens.token_type,
            refreshToken: tokens.refresh_token,
            idToken: tokens.id_token,
            scopes,
            expiresAt,
          },
          identity ?? null,
          now,
          true,
          accountKey,
        ),
      ),
    );
    if (!updated)
      throw new ConnectrError('not_found', `connection ${target.id} was deleted during the sign-in`);
    return updated;
  } catch (error) {
    // Only our own messages: a database error's text may quote a query and its values.
    if (connection) {
      await recordFailure(deps, connection, isConnectrError(error) ? error.message : 'internal error');
    }
    throw error;
  }
}

/** Notes a failed sign-in on the connection (best effort: the failure itself is what the caller sees). */
export async function recordFailure(deps: FlowDeps, connection: Connection, message: string): Promise<void> {
  try {
    await guard(deps.data.database, () =>
      updateConnection(deps.data.db, connection.projectId, connection.id, {
        lastError: `sign-in failed: ${message}`.slice(0, 1000),
        lastErrorCode: 'sign_in_failed',
      }),
    );
  } catch (error) {
    deps.notify(`could not record the failed sign-in of ${connection.id}: ${messageOf(error)}`);
  }
}
