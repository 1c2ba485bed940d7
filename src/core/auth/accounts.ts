import type { Connector } from '../connector/model.js';
import type { AccountRecord } from '../credentials/metadata.js';
import { ConnectrError } from '../errors.js';
import { shellWord } from '../shell.js';
import { unknownName } from '../suggest.js';
import type { AuthDeps } from './deps.js';
import { automationVariables } from './env-credential.js';

/** The named account, else the connector's default one; an error that says how to sign in. */
export async function findAccount(
  connector: Connector,
  accountName: string | undefined,
  deps: AuthDeps,
): Promise<AccountRecord> {
  const name = accountName ?? (await deps.metadata.defaultAccount(connector.name));
  const record = name === undefined ? undefined : await deps.metadata.find(connector.name, name);
  if (record) return record;
  const accounts = await deps.metadata.accounts(connector.name);
  if (accountName !== undefined) {
    // An unknown name, like an unknown connector or endpoint: not_found (exit 1).
    const known = accounts.map((a) => a.account);
    const signIn = `\`connectr auth ${connector.name} --account ${shellWord(accountName)}\``;
    throw unknownName(
      `no ${connector.name} account named "${accountName}"`,
      accountName,
      known,
      known.length ? `Or sign in with ${signIn}.` : `Sign in with ${signIn}.`,
    );
  }
  if (accounts.length > 1) {
    throw new ConnectrError(
      'auth_required',
      `${connector.name} has several accounts and none is the default`,
      {
        hint: `pass --account (${accounts.map((a) => a.account).join(', ')}) or run \`connectr accounts default ${connector.name} <account>\``,
      },
    );
  }
  throw new ConnectrError('auth_required', `not signed in to ${connector.displayName}`, {
    hint: `run \`connectr auth ${connector.name}\` (or set ${automationVariables(connector)} for automation)`,
  });
}
