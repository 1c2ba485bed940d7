import type { Connector } from '../connector/model.js';
import type { AccountRecord } from '../credentials/metadata.js';
import { accountService } from '../credentials/secret-store.js';
import { messageOf } from '../errors.js';
import { oauthEndpoints } from '../oauth/endpoints.js';
import { revokeToken } from '../oauth/revoke.js';
import { checkBinding } from './binding.js';
import { resolveClient } from './client.js';
import type { AuthDeps } from './deps.js';
import { findAccount } from './accounts.js';
import { readAccountSecret } from './secret.js';

export interface LogoutResult {
  readonly account: AccountRecord;
  /** revoked at the provider, the provider has no revocation, or revocation failed (why). */
  readonly revocation: 'revoked' | 'unsupported' | { readonly failed: string };
}

/**
 * Signs an account out: revokes its grant at the provider when the provider offers
 * revocation (RFC 7009, or Dropbox's bearer revocation), then deletes the secret and the
 * metadata. A failed revocation is reported, but local secrets are deleted all the same.
 */
export async function logout(
  connector: Connector,
  accountName: string | undefined,
  deps: AuthDeps,
): Promise<LogoutResult> {
  const record = await findAccount(connector, accountName, deps);
  const store = deps.vault.store(record.store);
  let revocation: LogoutResult['revocation'] = 'unsupported';
  const auth = connector.auth;
  if (auth.type === 'oauth2') {
    const url = oauthEndpoints(connector.name, auth, deps.env).revocation;
    if (url) {
      try {
        // A definition that now sends tokens elsewhere gets none to revoke; the local copy goes.
        await checkBinding(connector, record, deps);
        const secret = await readAccountSecret(store, connector.name, record.account);
        const token =
          auth.revocation_style === 'rfc7009' && secret?.refresh_token
            ? { value: secret.refresh_token, hint: 'refresh_token' as const }
            : secret?.access_token
              ? { value: secret.access_token, hint: 'access_token' as const }
              : undefined;
        if (!token) revocation = { failed: 'no token was stored' };
        else {
          const client = await resolveClient(connector, auth, deps).catch(() => undefined);
          const failure = await revokeToken(url, auth, client, token, deps.http);
          revocation = failure ? { failed: failure } : 'revoked';
        }
      } catch (error) {
        revocation = { failed: messageOf(error) };
      }
    }
  }
  await store.delete(accountService(connector.name), record.account);
  await deps.metadata.remove(connector.name, record.account);
  return { account: record, revocation };
}
