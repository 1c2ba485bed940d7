import type { KeyRing } from '../crypto.js';
import { updateConnection } from '../store/connections.js';
import type { Connection } from '../store/connections.js';
import { putCredential } from '../store/credentials.js';
import type { Db } from '../store/db.js';
import { signIn } from '../webhooks/changes.js';

/**
 * The one way an OAuth connection gets its tokens: the web flow (flow.ts) after the code
 * exchange, and `PUT /connections/{id}/credentials` with a token set pushed from the CLI
 * (`connectr connections push`). Both seal the same secret and make the connection active.
 */

/** The secret a connection signed in by OAuth keeps, sealed (store/credentials.ts). */
export interface OAuthSecret {
  readonly access_token: string;
  readonly token_type: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  /** The scopes granted, as the provider named them. */
  readonly scopes: string[];
  /** When the access token expires (ISO 8601), when the provider said. */
  readonly expires_at?: string;
}

/** A token set, from a token endpoint or pushed by a client. */
export interface TokenSet {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly refreshToken?: string | undefined;
  readonly idToken?: string | undefined;
  readonly scopes: readonly string[];
  readonly expiresAt: Date | null;
}

export function oauthSecretOf(tokens: TokenSet): OAuthSecret {
  return {
    access_token: tokens.accessToken,
    token_type: tokens.tokenType,
    ...(tokens.refreshToken ? { refresh_token: tokens.refreshToken } : {}),
    ...(tokens.idToken ? { id_token: tokens.idToken } : {}),
    scopes: [...tokens.scopes],
    ...(tokens.expiresAt ? { expires_at: tokens.expiresAt.toISOString() } : {}),
  };
}

/**
 * Seals the tokens on the connection and makes it active, in one transaction. `identity`:
 * who signed in (null: unknown; undefined: leave what the connection has). Undefined when the
 * connection was deleted meanwhile (its credential goes with it). `accountKey`, the
 * key the provider's pushes name the account by (kept when given). `asSignIn`: a sign-in, not a
 * refresh: its webhook events are recorded in the same transaction (webhooks/changes.ts).
 */
export async function storeTokens(
  db: Db,
  keys: KeyRing,
  connection: Pick<Connection, 'projectId' | 'id'>,
  tokens: TokenSet,
  identity: string | null | undefined,
  now = new Date(),
  asSignIn = false,
  accountKey?: string,
): Promise<Connection | undefined> {
  return db.transaction(async (tx) => {
    const store = () => sealTokens(tx, keys, connection, tokens, identity, now, accountKey);
    return asSignIn ? signIn(tx, connection, now, store) : store();
  });
}

async function sealTokens(
  tx: Db,
  keys: KeyRing,
  connection: Pick<Connection, 'projectId' | 'id'>,
  tokens: TokenSet,
  identity: string | null | undefined,
  now: Date,
  accountKey: string | undefined,
): Promise<Connection | undefined> {
  await putCredential(
    tx,
    keys,
    {
      projectId: connection.projectId,
      connectionId: connection.id,
      secret: oauthSecretOf(tokens),
      expiresAt: tokens.expiresAt,
    },
    now,
  );
  return updateConnection(
    tx,
    connection.projectId,
    connection.id,
    {
      status: 'active',
      ...(identity === undefined ? {} : { accountIdentity: identity }),
      ...(accountKey === undefined ? {} : { providerAccountId: accountKey }),
      scopes: [...tokens.scopes],
      lastRefreshAt: now,
      lastError: null,
      lastErrorCode: null,
    },
    now,
  );
}
