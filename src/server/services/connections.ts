import type { Connector } from '../../core/connector/model.js';
import type { Registry } from '../../core/connector/registry.js';
import type { CredentialSource } from '../../core/engine/credential.js';
import { ConnectrError, isConnectrError } from '../../core/errors.js';
import type { Env } from '../../core/paths.js';
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
          deps.registry.get(connection.connector),
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
  const connector = registry.get(connection.connector);
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
