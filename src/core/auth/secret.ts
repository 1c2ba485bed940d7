import { ConnectrError } from '../errors.js';
import { accountService } from '../credentials/secret-store.js';
import type { SecretStore } from '../credentials/secret-store.js';

/** What is kept in the secret store for one account: one JSON entry per connector account. */
export interface AccountSecret {
  access_token?: string;
  refresh_token?: string;
  token_type?: string;
  id_token?: string;
  api_key?: string;
  username?: string;
  password?: string;
}

export async function readAccountSecret(
  store: SecretStore,
  connector: string,
  account: string,
): Promise<AccountSecret | undefined> {
  const text = await store.get(accountService(connector), account);
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as AccountSecret;
  } catch {
    throw new ConnectrError(
      'invalid_input',
      `the stored secret of ${connector} account "${account}" is damaged`,
      {
        hint: `log in again: connectr auth ${connector} --account ${account}`,
      },
    );
  }
}

export async function writeAccountSecret(
  store: SecretStore,
  connector: string,
  account: string,
  secret: AccountSecret,
): Promise<void> {
  await store.set(accountService(connector), account, JSON.stringify(secret));
}
