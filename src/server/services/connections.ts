import type { Connector } from '../../core/connector/model.js';
import type { Registry } from '../../core/connector/registry.js';
import type { CredentialSource } from '../../core/engine/credential.js';
import { ConnectrError, isConnectrError } from '../../core/errors.js';
import { FieldError } from '../../core/field-error.js';
import type { Env } from '../../core/paths.js';
import { closest } from '../../core/suggest.js';
import type { ServerData } from '../contracts.js';
import { changeConnection } from '../credentials/target.js';
import { storeTokens } from '../oauth/tokens.js';
import type { TokenSet } from '../oauth/tokens.js';
import * as connections from '../store/connections.js';
import type { Connection, ListOptions, NewConnection, Page } from '../store/connections.js';
import * as credentials from '../store/credentials.js';
import { guard } from '../store/open.js';
import { recordConnectionEvent } from '../webhooks/events.js';
import { createConnectionWithEvent, signIn } from '../webhooks/changes.js';
import { revokeAtProvider, storedTokens } from './revocation.js';
import type { RevocationOutcome, RevocationRequest } from './revocation.js';

/**
 * A project's connections and their credentials: what the connection routes ask for, each
 * query guarded (a lost database is a 503), each change in one transaction and forgotten by
 * this instance's cache once committed (credentials/target.ts).
 */

export type { Connection, Page } from '../store/connections.js';
export { MAX_PAGE } from '../store/connections.js';
export { CONNECTION_STATUSES } from '../store/schema.js';

/**
 * The connector a new connection uses: `name` at `version`, its newest when none is given. An
 * unknown name or version is an invalid_input naming `field` and what is loaded.
 */
export function connectorToCreate(
  registry: Registry,
  name: string,
  version: number | undefined,
  fields: { readonly name: string; readonly version: string },
): Connector {
  const newest = registry.get(name);
  if (!newest) {
    const names = registry.connectors.map((c) => c.name);
    const suggestion = closest(name, names);
    throw new FieldError(fields.name, `unknown connector "${name}"`, {
      hint: `${suggestion ? `did you mean "${suggestion}"? ` : ''}known connectors: ${names.join(', ')} (GET /api/v1/connectors)`,
    });
  }
  return version === undefined ? newest : requireVersion(registry, name, version, fields.version);
}

/** `name` at `version`, or an invalid_input naming `field` and the versions loaded. */
function requireVersion(registry: Registry, name: string, version: number, field: string): Connector {
  const found = registry.get(name, version);
  if (found) return found;
  throw new FieldError(field, `connector ${name} has no version ${version}`, {
    hint: `loaded versions of ${name}: ${loadedVersions(registry, name)} (GET /api/v1/connectors/${name}/versions)`,
  });
}

function loadedVersions(registry: Registry, name: string): string {
  return registry
    .versions(name)
    .map((c) => c.version)
    .join(', ');
}

/** What names a connection's connector: its name and the version it is pinned to. */
export type PinnedTo = Pick<Connection, 'id' | 'connector' | 'connectorVersion'>;

/** The version of its connector that `connection`'s calls use, when this server loads it. */
export function connectorOf(registry: Registry, connection: PinnedTo): Connector | undefined {
  return registry.get(connection.connector, connection.connectorVersion);
}

/**
 * As connectorOf, or a conflict saying what is missing: the connector itself, or only the
 * version the connection is pinned to (its calls never fall back to another version's shape).
 */
export function pinnedConnector(registry: Registry, connection: PinnedTo): Connector {
  const found = connectorOf(registry, connection);
  if (found) return found;
  throw connectorMissing(registry, connection);
}

/** Why `connection`'s connector cannot be had: its name, or its version, is not loaded. */
export function connectorMissing(registry: Registry, connection: PinnedTo): ConnectrError {
  const { id, connector: name, connectorVersion: version } = connection;
  const newest = registry.get(name);
  if (!newest) {
    return new ConnectrError(
      'conflict',
      `connection ${id}'s connector "${name}" is no longer defined on this server`,
      {
        hint: "restore its definition in the server's connectors directory, or delete the connection",
      },
    );
  }
  return new ConnectrError(
    'conflict',
    `connection ${id} uses ${name} version ${version}, which this server no longer loads (loaded: ${loadedVersions(registry, name)})`,
    {
      hint: `move it with PATCH /api/v1/connections/${id} {"connector_version": ${newest.version}}, or restore that version's file (${name}@${version}.yaml)`,
    },
  );
}

/**
 * The scopes moving `connection` from `from` to `to` needs that it was not granted: those `to`
 * asks for at sign-in that `from` did not (a scope both ask for and the user declined stays as
 * it was). None for a connection not signed in yet: its sign-in asks for them.
 */
export function missingScopes(from: Connector | undefined, to: Connector, connection: Connection): string[] {
  if (to.auth.type !== 'oauth2' || connection.status === 'pending') return [];
  const before = new Set(from?.auth.type === 'oauth2' ? from.auth.scopes : []);
  const granted = new Set(connection.scopes);
  return to.auth.scopes.filter((scope) => !before.has(scope) && !granted.has(scope));
}

/**
 * Moves the connection to another version of its connector (PATCH). Refused, with a conflict
 * naming them, when that version needs scopes the connection was not granted; checked on the
 * locked row, so a sign-in finishing meanwhile is seen.
 */
export async function moveConnection(
  data: ServerData,
  registry: Registry,
  projectId: string,
  id: string,
  version: number,
  now = new Date(),
): Promise<Connection> {
  const current = await requireConnection(data, projectId, id);
  const to = requireVersion(registry, current.connector, version, 'body.connector_version');
  const moved = await changeConnection(data, projectId, id, () =>
    guard(data.database, () =>
      data.db.transaction(async (tx) => {
        const row = await connections.lockConnection(tx, projectId, id);
        if (!row) return undefined;
        if (row.connectorVersion === version) return row;
        const missing = missingScopes(connectorOf(registry, row), to, row);
        if (missing.length > 0) {
          throw new ConnectrError(
            'conflict',
            `connection ${id} cannot move to ${row.connector} version ${version}: that version needs scopes the connection was not granted: ${missing.join(', ')}`,
            {
              details: missing.map((scope) => `missing scope: ${scope}`),
              hint: `sign the connection in again (POST /api/v1/oauth/authorize with connection_id ${id}; a sign-in asks for the scopes of its version and of the newest), then PATCH again`,
            },
          );
        }
        return connections.updateConnection(tx, projectId, id, { connectorVersion: version }, now);
      }),
    ),
  );
  return moved ?? requireConnection(data, projectId, id);
}

/** A new connection, with its connection.created event in the same transaction. */
export function createConnection(
  data: ServerData,
  input: NewConnection,
  now = new Date(),
): Promise<Connection> {
  return guard(data.database, () => createConnectionWithEvent(data.db, input, now));
}

export function listConnections(
  data: ServerData,
  projectId: string,
  options: ListOptions,
): Promise<Page<Connection>> {
  return guard(data.database, () => connections.listConnections(data.db, projectId, options));
}

/** The project's connection, or a not_found naming it (another project's id included). */
export function requireConnection(data: ServerData, projectId: string, id: string): Promise<Connection> {
  return guard(data.database, () => connections.requireConnection(data.db, projectId, id));
}

/** What a credential route stores: a plain secret (api_key, basic) or an OAuth token set. */
export type CredentialToStore =
  | { readonly kind: 'secret'; readonly secret: Record<string, string> }
  | { readonly kind: 'tokens'; readonly tokens: TokenSet; readonly identity: string | undefined };

/**
 * Replaces the connection's credential and makes it active (last_error cleared), in one
 * transaction. A connection deleted meanwhile took its credential with it: not_found.
 */
export async function storeCredential(
  data: ServerData,
  connection: Pick<Connection, 'projectId' | 'id'>,
  toStore: CredentialToStore,
  now = new Date(),
): Promise<Connection> {
  const { projectId, id } = connection;
  const updated = await changeConnection(data, projectId, id, () =>
    guard(data.database, () =>
      toStore.kind === 'tokens'
        ? storeTokens(data.db, data.keys, connection, toStore.tokens, toStore.identity, now, true)
        : data.db.transaction((tx) =>
            signIn(tx, connection, now, async () => {
              await credentials.putCredential(tx, data.keys, {
                projectId,
                connectionId: id,
                secret: toStore.secret,
              });
              return connections.updateConnection(
                tx,
                projectId,
                id,
                { status: 'active', lastError: null, lastErrorCode: null },
                now,
              );
            }),
          ),
    ),
  );
  return updated ?? requireConnection(data, projectId, id);
}

/** What deleting a connection did at the provider. */
export type DeletedConnection = RevocationOutcome;

export interface DeleteDeps {
  readonly data: ServerData;
  readonly registry: Registry;
  /** The server's environment: the OAuth app's fallback and the revocation URL's override. */
  readonly env: Env;
  /** The request it is part of: an unexpected fault of the revocation is logged under its id. */
  readonly request: RevocationRequest;
}

/**
 * Revokes the grant at the provider where it can, then deletes the connection and its
 * credential in one transaction. A failed revocation does not keep the connection: the outcome
 * says why it failed. A credential that fails its integrity check cannot be revoked, and does
 * not make the connection undeletable; a key missing from the ring ('unavailable') stays an
 * error: configuring the key makes revocation possible again.
 */
export async function deleteConnection(
  deps: DeleteDeps,
  projectId: string,
  id: string,
): Promise<DeletedConnection> {
  const { data } = deps;
  const connection = await requireConnection(data, projectId, id);
  let unreadable: string | undefined;
  const stored = await guard(data.database, () =>
    credentials.getCredential(data.db, data.keys, projectId, id),
  ).catch((error: unknown) => {
    if (!(isConnectrError(error) && error.code === 'internal')) throw error;
    unreadable = `the stored credential could not be read, so it was not revoked: ${error.message}`;
    return undefined;
  });
  const outcome: RevocationOutcome = unreadable
    ? { revoked: false, error: unreadable }
    : stored
      ? await revokeAtProvider(
          data,
          deps.env,
          projectId,
          // Revoked where the version it was signed in with says, or the newest when that is gone.
          connectorOf(deps.registry, connection) ?? deps.registry.get(connection.connector),
          stored.secret,
          deps.request,
        )
      : { revoked: false };
  const deleted = await changeConnection(data, projectId, id, () =>
    guard(data.database, () =>
      data.db.transaction(async (tx) => {
        const row = await connections.lockConnection(tx, projectId, id);
        if (!row) return false;
        await credentials.deleteCredential(tx, projectId, id);
        await connections.deleteConnection(tx, projectId, id);
        await recordConnectionEvent(tx, { type: 'connection.deleted', connection: row }, new Date());
        return true;
      }),
    ),
  );
  // Deleted by another request meanwhile: this one deleted nothing.
  if (!deleted) await requireConnection(data, projectId, id);
  return outcome;
}

export interface AccessToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresAt: Date | null;
}

/**
 * An OAuth connection's access token, refreshed first when about to expire (through `source`,
 * under the row lock, as a call through the connection does). A connection that is not an
 * OAuth one is a conflict; one without a token, needs_reauth.
 */
export async function accessToken(
  data: ServerData,
  registry: Registry,
  projectId: string,
  id: string,
  sourceFor: (connection: Connection, connector: Connector) => CredentialSource,
): Promise<AccessToken> {
  const connection = await requireConnection(data, projectId, id);
  const connector = connectorOf(registry, connection);
  if (connector?.auth.type !== 'oauth2') {
    throw new ConnectrError(
      'conflict',
      `connection ${id} is not an OAuth connection: it has no access token`,
      {
        hint: 'POST /api/v1/proxy/execute calls its API with the stored credential',
      },
    );
  }
  await sourceFor(connection, connector).credential();
  const stored = await guard(data.database, () =>
    credentials.getCredential(data.db, data.keys, projectId, id),
  );
  const tokens = storedTokens(stored?.secret);
  if (!stored || tokens.accessToken === undefined) {
    throw new ConnectrError('needs_reauth', `connection ${id} has no access token yet`, {
      hint: 'sign the user in with POST /api/v1/oauth/authorize',
    });
  }
  return {
    accessToken: tokens.accessToken,
    tokenType: tokens.tokenType ?? 'Bearer',
    expiresAt: stored.expiresAt,
  };
}
