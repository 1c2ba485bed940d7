import type { Connector } from '../../core/connector/model.js';
import type { Registry } from '../../core/connector/registry.js';
import type { ServerData } from '../contracts.js';
import { FieldError } from '../errors.js';
import {
  completeAuthorization,
  prepareAuthorization,
  recordFailure,
  startAuthorization,
} from '../oauth/flow.js';
import type { ConnectExtra, FlowDeps, StartedAuthorization } from '../oauth/flow.js';
import type { Connection } from '../store/connections.js';
import { requireConnection } from '../store/connections.js';
import { consumeOAuthSession, pendingSignIns } from '../store/oauth-sessions.js';
import type { OAuthSession } from '../store/oauth-sessions.js';
import { guard } from '../store/open.js';

/**
 * The browser sign-in as the OAuth routes ask for it, over the web flow (oauth/flow.ts): start
 * one, consume its session once, complete it into a connection, note a refusal on the
 * connection. Every query guarded: a lost database is a 503.
 */

export type { Connection } from '../store/connections.js';
export type { OAuthSession } from '../store/oauth-sessions.js';
export { SessionRefused } from '../store/oauth-sessions.js';
/** Exchanges the code of a consumed session and stores the tokens on its connection (oauth/flow.ts). */
export { completeAuthorization as completeSignIn } from '../oauth/flow.js';

export interface SignInStart {
  /** The connection to sign in; undefined: the old system's form, a sign-in of `connector`. */
  readonly connectionId: string | undefined;
  readonly connector: string | undefined;
  readonly redirectUri: string;
  readonly returnUrl: string | undefined;
  readonly maxPending: number;
  /** Started by the Connect page: its session, and the new connection's user id and tags. */
  readonly connect?: ConnectExtra | undefined;
}

/**
 * Records a sign-in and builds the provider's URL. With a connection id, that connection's
 * (404 when it is not the project's); else one of the connector that belongs to no connection
 * until it completes, so an app that made its own connection first is not left with a second.
 */
export async function startSignIn(
  deps: FlowDeps,
  connectorNamed: (name: string) => Connector,
  projectId: string,
  input: SignInStart,
  pinnedOf: (connection: Connection) => Connector | undefined = () => undefined,
): Promise<{ started: StartedAuthorization; connection: Connection | null }> {
  const { data } = deps;
  const id = input.connectionId;
  const connection =
    id === undefined ? null : await guard(data.database, () => requireConnection(data.db, projectId, id));
  const newest = connectorNamed(connection?.connector ?? input.connector ?? '');
  const pinned = connection ? pinnedOf(connection) : undefined;
  const prepared = await prepareAuthorization(deps, projectId, withScopesOf(newest, pinned));
  const started = await startAuthorization(deps, prepared, projectId, connection, input);
  return { started, connection };
}

/** The sign-in `state` names, used up: a SessionRefused (invalid_input) says why it cannot be. */
export function consumeSignIn(data: ServerData, state: string): Promise<OAuthSession> {
  return guard(data.database, () => consumeOAuthSession(data.db, data.keys, state));
}

/** Notes the provider's refusal on the sign-in's connection, if it has one still there (best effort). */
export async function recordRefusal(deps: FlowDeps, session: OAuthSession, said: string): Promise<void> {
  const { data } = deps;
  const bound = session.connectionId;
  if (bound === null) return;
  const connection = await guard(data.database, () =>
    requireConnection(data.db, session.projectId, bound),
  ).catch(() => undefined);
  if (connection) await recordFailure(deps, connection, said);
}

export interface CodeCompletion {
  readonly connectionId: string;
  readonly code: string;
  readonly redirectUri: string;
  /** The sign-in's state; without it, the one sign-in pending it can belong to. */
  readonly state: string | undefined;
}

/**
 * Completes a sign-in with a code an app's own redirect URI received: that sign-in's session is
 * consumed and bound to the connection by one UPDATE, so two completions racing cannot both
 * exchange; then the code is exchanged and the tokens stored on the connection.
 */
export async function completeWithCode(
  deps: FlowDeps,
  registry: Registry,
  projectId: string,
  input: CodeCompletion,
): Promise<Connection> {
  const { data } = deps;
  const connection = await guard(data.database, () =>
    requireConnection(data.db, projectId, input.connectionId),
  );
  const state = input.state ?? (await onlyPendingState(data, projectId, connection, input.redirectUri));
  const session = await guard(data.database, () =>
    consumeOAuthSession(data.db, data.keys, state, {
      projectId,
      connection: { id: connection.id, connector: connection.connector },
      redirectUri: input.redirectUri,
    }),
  );
  return completeAuthorization(deps, registry, session, input.code);
}

/**
 * The state of the one sign-in a code without one can belong to: the only one pending in the
 * project for this connector and redirect URI, if it is this connection's or bound to none.
 * Another connection's pending sign-in makes it ambiguous too: the code may be its.
 */
async function onlyPendingState(
  data: ServerData,
  projectId: string,
  connection: Connection,
  redirectUri: string,
): Promise<string> {
  const pending = await guard(data.database, () =>
    pendingSignIns(data.db, projectId, { connector: connection.connector, redirectUri }),
  );
  const only = pending.length === 1 ? pending[0] : undefined;
  if (only && (only.connectionId === null || only.connectionId === connection.id)) return only.state;
  if (pending.length === 0) {
    const [other] = await guard(data.database, () =>
      pendingSignIns(data.db, projectId, { redirectUri }, undefined, 1),
    );
    if (other) {
      throw new FieldError(
        'body.connection_id',
        `the sign-in pending with this redirect_uri is to ${other.connector}, and connection ${connection.id} is a ${connection.connector} connection`,
        {
          hint: `complete it into a ${other.connector} connection, or start a sign-in of ${connection.connector}`,
        },
      );
    }
  }
  throw new FieldError(
    'body.state',
    pending.length === 0
      ? `no sign-in of ${connection.connector} with this redirect_uri is pending in this project`
      : pending.length === 1
        ? `the sign-in of ${connection.connector} pending with this redirect_uri was started for another connection: send the state of this one's`
        : `the pending sign-ins of ${connection.connector} with this redirect_uri cannot be told apart without their state`,
    { hint: 'send the state POST /oauth/authorize returned; or start a sign-in with it first' },
  );
}

/**
 * The newest version, asking also for the scopes of the version the connection is pinned to:
 * signing in again keeps what its calls need, and grants what a move to the newest needs.
 */
function withScopesOf(newest: Connector, pinned: Connector | undefined): Connector {
  if (pinned === undefined || pinned === newest) return newest;
  if (newest.auth.type !== 'oauth2' || pinned.auth.type !== 'oauth2') return newest;
  const scopes = [...new Set([...pinned.auth.scopes, ...newest.auth.scopes])];
  return { ...newest, auth: { ...newest.auth, scopes } };
}
