import type { Connector } from '../connector/model.js';
import type { AccountRecord, Grant } from '../credentials/metadata.js';
import { accountService } from '../credentials/secret-store.js';
import type { SecretStore } from '../credentials/secret-store.js';
import type { OAuthClient, TokenSet } from '../oauth/token-endpoint.js';
import { currentBinding } from './binding.js';
import type { AuthDeps } from './deps.js';
import { discoverIdentity } from './identity.js';
import { oauth2Of, splitScopes } from './oauth2.js';
import { writeAccountSecret } from './secret.js';
import type { AccountSecret } from './secret.js';

/**
 * Where every sign-in ends: the identity, the secret to the vault, the account's metadata
 * (with the binding of the credential to the definition in effect).
 */

export interface LoginResult {
  readonly record: AccountRecord;
  readonly store: SecretStore;
  /** Why the secret is not in the keychain, when it is not. */
  readonly notice?: string | undefined;
}

export async function saveLogin(
  connector: Connector,
  account: string,
  grant: Grant,
  tokens: TokenSet,
  client: OAuthClient,
  options: { scopes: readonly string[]; insecureStorage: boolean },
  deps: AuthDeps,
): Promise<LoginResult> {
  const auth = oauth2Of(connector);
  const identity = await discoverIdentity(
    connector,
    { kind: 'bearer', token: tokens.access_token },
    tokens.id_token,
    deps,
  );
  const secret: AccountSecret = {
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    ...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}),
    ...(tokens.id_token ? { id_token: tokens.id_token } : {}),
  };
  return storeLogin(
    connector,
    account,
    secret,
    {
      auth_type: 'oauth2',
      grant,
      client_id: client.clientId,
      scopes: grantedScopes(tokens.scope, options.scopes, auth),
      ...(tokens.expires_in
        ? { expires_at: new Date(deps.clock.now() + tokens.expires_in * 1000).toISOString() }
        : {}),
      ...(identity ? { identity } : {}),
    },
    options.insecureStorage,
    deps,
  );
}

export async function storeLogin(
  connector: Connector,
  account: string,
  secret: AccountSecret,
  facts: Omit<AccountRecord, 'connector' | 'connector_version' | 'account' | 'store' | 'created_at'>,
  insecureStorage: boolean,
  deps: AuthDeps,
): Promise<LoginResult> {
  const { store: target, notice } = await deps.vault.forNewSecrets(insecureStorage);
  const previous = await deps.metadata.find(connector.name, account);
  await writeAccountSecret(target, connector.name, account, secret);
  // A login that moves an account to another store must not leave its old secret behind.
  if (previous && previous.store !== target.kind) {
    await deps.vault
      .store(previous.store)
      .delete(accountService(connector.name), account)
      .catch(() => false);
  }
  const now = new Date(deps.clock.now()).toISOString();
  const record: AccountRecord = {
    connector: connector.name,
    // The version signed in with: `call` keeps using it while it is loaded.
    connector_version: connector.version,
    account,
    ...facts,
    store: target.kind,
    // Where this credential may go from now on: the definition as it is now.
    binding: currentBinding(connector, deps.env),
    created_at: previous?.created_at ?? now,
    last_refreshed_at: now,
  };
  await deps.metadata.upsert(record);
  if (!(await deps.metadata.defaults())[connector.name])
    await deps.metadata.setDefault(connector.name, account);
  return { record, store: target, notice };
}

/** The scopes granted: the token response's `scope` when present (RFC 6749 §5.1), else those asked for. */
function grantedScopes(
  scope: string | undefined,
  requested: readonly string[],
  auth: Parameters<typeof splitScopes>[1],
): string[] {
  if (scope === undefined) return [...requested];
  return splitScopes(scope, auth);
}
