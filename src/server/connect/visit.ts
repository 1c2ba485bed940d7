import type { Dispatcher } from 'undici';
import type { Connector } from '../../core/connector/model.js';
import type { Registry } from '../../core/connector/registry.js';
import type { Credential } from '../../core/engine/credential.js';
import { ConnectrError } from '../../core/errors.js';
import type { Env } from '../../core/paths.js';
import type { ServerData } from '../contracts.js';
import type { FlowDeps } from '../oauth/flow.js';
import { createConnection, requireConnection, storeCredential } from '../services/connections.js';
import type { Connection } from '../services/connections.js';
import { startSignIn } from '../services/sign-in.js';
import * as store from '../store/connect-sessions.js';
import type { ConnectSession } from '../store/connect-sessions.js';
import { guard } from '../store/open.js';
import { connectable } from './sessions.js';
import { verifyCredential } from './verify.js';
import type { Verdict } from './verify.js';

/**
 * What the Connect page does with an open session: which connectors it offers, a browser
 * sign-in started for one, an API key or password verified and saved, a finished sign-in
 * checked and reported. The session is used up by the connection it makes, once.
 */

export type Opened =
  | { readonly kind: 'open'; readonly session: ConnectSession }
  | { readonly kind: 'expired' | 'used'; readonly session: ConnectSession }
  | { readonly kind: 'unknown' };

/** The session a token opens, and whether it still may be used. */
export async function openSession(data: ServerData, token: string, now: Date): Promise<Opened> {
  const session = await guard(data.database, () => store.findConnectSession(data.db, token));
  if (!session) return { kind: 'unknown' };
  if (session.usedAt !== null) return { kind: 'used', session };
  if (session.expiresAt.getTime() <= now.getTime()) return { kind: 'expired', session };
  return { kind: 'open', session };
}

/**
 * The connectors the page offers, in the session's order (else by display name): the
 * connection's own when the session signs one in again.
 */
export async function offeredConnectors(
  data: ServerData,
  registry: Registry,
  session: ConnectSession,
): Promise<Connector[]> {
  if (session.connectionId !== null) {
    const connection = await requireConnection(data, session.projectId, session.connectionId);
    const connector = registry.get(connection.connector);
    return connector && connectable(connector) ? [connector] : [];
  }
  if (session.allowedConnectors !== null)
    return session.allowedConnectors
      .map((name) => registry.get(name))
      .filter((c): c is Connector => c !== undefined && connectable(c));
  return registry.connectors.filter(connectable).sort((a, b) => a.displayName.localeCompare(b.displayName));
}

export interface SignInPlace {
  /** The daemon's own GET /api/v1/oauth/callback. */
  readonly redirectUri: string;
  /** Where the callback sends the browser: the page's result step. */
  readonly returnUrl: string;
  readonly maxPending: number;
}

/** The provider's authorization URL for a browser sign-in the session started. */
export async function startConnectSignIn(
  deps: FlowDeps,
  registry: Registry,
  session: ConnectSession,
  connector: Connector,
  place: SignInPlace,
  pinnedOf: (connection: Connection) => Connector | undefined,
): Promise<string> {
  const { started } = await startSignIn(
    deps,
    (name) => registry.require(name),
    session.projectId,
    {
      connectionId: session.connectionId ?? undefined,
      connector: session.connectionId === null ? connector.name : undefined,
      redirectUri: place.redirectUri,
      returnUrl: place.returnUrl,
      maxPending: place.maxPending,
      connect: { session: session.id, userId: session.endUserId, tags: session.tags },
    },
    pinnedOf,
  );
  return started.authorizationUrl;
}

/**
 * Uses the session up for `connectionId`, which the daemon's callback has just signed in, when
 * a sign-in of this session did: a result step opened with any other id proves nothing.
 */
export async function finishConnectSignIn(
  data: ServerData,
  session: ConnectSession,
  connectionId: string,
  now: Date,
): Promise<boolean> {
  const ours = await guard(data.database, () =>
    store.signedInThrough(data.db, session.projectId, session.id, connectionId),
  );
  if (!ours) return false;
  await guard(data.database, () => store.useConnectSession(data.db, session.id, connectionId, now));
  return true;
}

export interface SecretDeps {
  readonly data: ServerData;
  readonly env: Env;
  readonly dispatcher: Dispatcher;
  readonly now: Date;
}

export type SecretOutcome =
  | { readonly kind: 'connected'; readonly connection: Connection }
  | { readonly kind: 'refused'; readonly verdict: Extract<Verdict, { kind: 'refused' }> };

/**
 * Verifies the API key or user name and password, then saves it: on the session's connection,
 * or a new one with the end user's id and the session's tags. The session is claimed first, so
 * two submissions at once make one connection; a refused credential saves nothing and leaves
 * the session open for another try.
 */
export async function connectWithSecret(
  deps: SecretDeps,
  session: ConnectSession,
  connector: Connector,
  secret: { api_key: string } | { username: string; password: string },
): Promise<SecretOutcome> {
  const { data, now } = deps;
  const credential: Credential =
    'api_key' in secret
      ? { kind: 'api_key', key: secret.api_key }
      : { kind: 'basic', username: secret.username, password: secret.password };
  const verdict = await verifyCredential(connector, credential, deps.env, deps.dispatcher);
  if (verdict.kind === 'refused') return { kind: 'refused', verdict };
  const claimed = await guard(data.database, () => store.useConnectSession(data.db, session.id, null, now));
  if (!claimed)
    throw new ConnectrError('conflict', 'this Connect link has been used already', {
      hint: 'ask the app for a new one',
    });
  try {
    const target =
      session.connectionId !== null
        ? await requireConnection(data, session.projectId, session.connectionId)
        : await createConnection(
            data,
            {
              projectId: session.projectId,
              connector: connector.name,
              connectorVersion: connector.version,
              name: connector.name,
              userId: session.endUserId,
              tags: session.tags,
            },
            now,
          );
    const connection = await storeCredential(data, target, { kind: 'secret', secret: { ...secret } }, now);
    await guard(data.database, () => store.setConnectResult(data.db, session.id, connection.id));
    return { kind: 'connected', connection };
  } catch (error) {
    await guard(data.database, () => store.releaseConnectSession(data.db, session.id)).catch(() => undefined);
    throw error;
  }
}
