import type { Connector } from '../connector/model.js';
import type { AccountRecord } from '../credentials/metadata.js';
import { ConnectrError } from '../errors.js';
import type { Credential, CredentialSource } from '../engine/credential.js';
import { findAccount } from './accounts.js';
import { checkBinding, checkOverrides } from './binding.js';
import type { AuthDeps } from './deps.js';
import { credentialFromEnv } from './env-credential.js';
import { accountExpiresSoon, refreshOnce } from './refresh.js';
import { readAccountSecret } from './secret.js';

/**
 * A valid credential for every request: a token from the environment (env-credential.ts), else
 * the account's stored secret (accounts.ts finds the account), only for the definition it was
 * issued for (binding.ts), refreshed shortly before it expires (refresh.ts).
 */

export interface ResolvedCredential {
  readonly credential: Credential;
  /** The account used; absent when the credential came from the environment. */
  readonly account?: AccountRecord;
  readonly source: 'environment' | 'store' | 'none';
  /** The environment variable the credential came from. */
  readonly variable?: string;
}

export async function getCredential(
  connector: Connector,
  accountName: string | undefined,
  deps: AuthDeps,
  options: { forceRefresh?: boolean } = {},
): Promise<ResolvedCredential> {
  if (connector.auth.type === 'none') return { credential: { kind: 'none' }, source: 'none' };
  checkOverrides(connector, deps.env);
  const fromEnv = credentialFromEnv(connector, deps);
  if (fromEnv && accountName === undefined) return fromEnv;

  const record = await findAccount(connector, accountName, deps);
  // Before the secret is even read: a definition that sends it elsewhere gets nothing.
  await checkBinding(connector, record, deps);
  const store = deps.vault.store(record.store);
  const secret = await readAccountSecret(store, connector.name, record.account);
  if (!secret) {
    throw new ConnectrError(
      'auth_required',
      `the secret of ${connector.name} account "${record.account}" is missing from the ${store.location}`,
      {
        hint: `sign in again: connectr auth ${connector.name} --account ${record.account}`,
      },
    );
  }
  await touch(record, deps);
  switch (record.auth_type) {
    case 'api_key':
      return { credential: { kind: 'api_key', key: secret.api_key ?? '' }, account: record, source: 'store' };
    case 'basic':
      return {
        credential: { kind: 'basic', username: secret.username ?? '', password: secret.password ?? '' },
        account: record,
        source: 'store',
      };
    case 'oauth2': {
      let token = secret.access_token;
      if (options.forceRefresh || accountExpiresSoon(record, deps.clock.now())) {
        const refreshed = await refreshOnce(
          connector,
          record,
          options.forceRefresh ? secret.access_token : undefined,
          deps,
        );
        token = refreshed.accessToken;
      }
      const updated = (await deps.metadata.find(connector.name, record.account)) ?? record;
      return {
        credential: { kind: 'bearer', token: token ?? '' },
        account: updated,
        source: 'store',
      };
    }
  }
}

/**
 * The CLI's credential source for one connector and account (undefined: the default one, or a
 * token from the environment): getCredential on every ask. Only a stored OAuth sign-in is
 * refreshable; a 401 with anything else is final.
 */
export function localCredentials(
  connector: Connector,
  accountName: string | undefined,
  deps: AuthDeps,
): CredentialSource {
  return {
    async credential(options) {
      const resolved = await getCredential(connector, accountName, deps, {
        forceRefresh: options?.forceRefresh === true,
      });
      return {
        credential: resolved.credential,
        refreshable: resolved.source === 'store' && connector.auth.type === 'oauth2',
        ...(resolved.source === 'environment' && resolved.variable
          ? { refusedHint: refusedInEnvironment(connector, resolved.variable) }
          : {}),
      };
    },
  };
}

/** A 401 to a token from the environment: `connectr auth` cannot replace it, the user can. */
export function refusedInEnvironment(connector: Connector, variable: string): string {
  const auth = connector.auth;
  if (auth.type === 'basic' && variable === auth.password_env)
    return `the API refused the user name and password in $${auth.username_env} and $${auth.password_env}: replace them or unset them`;
  return `the API refused the token in $${variable}: replace it or unset it`;
}

/** last_used_at, written at most once a minute so busy scripts do not contend for the file. */
async function touch(record: AccountRecord, deps: AuthDeps): Promise<void> {
  const now = deps.clock.now();
  if (record.last_used_at && now - Date.parse(record.last_used_at) < 60_000) return;
  await deps.metadata.patch(record.connector, record.account, (r) => {
    r.last_used_at = new Date(now).toISOString();
  });
}
