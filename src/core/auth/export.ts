import type { Connector } from '../connector/model.js';
import type { AccountRecord } from '../credentials/metadata.js';
import { ConnectrError } from '../errors.js';
import { shellWord } from '../shell.js';
import { findAccount } from './accounts.js';
import { tokenEnvName } from './env-credential.js';
import type { AuthDeps } from './deps.js';
import { oauth2Of } from './oauth2.js';
import { readAccountSecret } from './secret.js';
import { getCredential } from './tokens.js';

/**
 * The whole token set of a signed-in OAuth account, to hand to another holder (`connectr
 * connections push` gives it to the daemon): found and checked as every use of the account
 * is (accounts.ts, binding.ts), refreshed first when it expires within the refresh margin.
 * Never a token from the environment: those are not an account's.
 */
export interface AccountTokens {
  /** The account's metadata after any refresh: identity, scopes, expires_at, client_id. */
  readonly record: AccountRecord;
  readonly accessToken: string;
  readonly tokenType: string;
  readonly refreshToken: string | undefined;
}

export async function accountTokens(
  connector: Connector,
  accountName: string | undefined,
  deps: AuthDeps,
): Promise<AccountTokens> {
  oauth2Of(connector);
  if (accountName === undefined && (await deps.metadata.accounts(connector.name)).length === 0)
    throw notSignedIn(connector, deps);
  const found = await findAccount(connector, accountName, deps);
  // By name: getCredential then never answers with a token from the environment.
  await getCredential(connector, found.account, deps);
  const record = (await deps.metadata.find(connector.name, found.account)) ?? found;
  const secret = await readAccountSecret(deps.vault.store(record.store), connector.name, record.account);
  if (!secret?.access_token) {
    throw new ConnectrError(
      'auth_required',
      `${connector.name} account "${record.account}" has no access token stored`,
      { hint: `sign in again: connectr auth ${connector.name} --account ${shellWord(record.account)}` },
    );
  }
  return {
    record,
    accessToken: secret.access_token,
    tokenType: secret.token_type || 'Bearer',
    refreshToken: secret.refresh_token || undefined,
  };
}

/**
 * No account to hand over. Unlike every other command, a token in the environment is no
 * substitute, and is not suggested: a holder that keeps a sign-in (the daemon) needs its
 * refresh token to renew it, and CONNECTR_<NAME>_TOKEN has none.
 */
function notSignedIn(connector: Connector, deps: AuthDeps): ConnectrError {
  const variable = tokenEnvName(connector.name);
  const set = deps.env[variable] ? variable : undefined;
  return new ConnectrError(
    'auth_required',
    `not signed in to ${connector.displayName}: there is no account to push`,
    {
      hint: `sign in first: connectr auth ${connector.name}${
        set
          ? `. The token in $${set} is not pushed: the daemon could never refresh it (no refresh token); to give it a token you hold, use PUT /api/v1/connections/{id}/credentials`
          : ''
      }`,
    },
  );
}
