import type { Connector } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import { checkOverrides } from './binding.js';
import type { AuthDeps } from './deps.js';
import { probeIdentity } from './identity.js';
import { storeLogin } from './save-login.js';
import type { LoginResult } from './save-login.js';

/**
 * Stores an API key or a user name and password for an `api_key` or `basic` connector. When
 * the connector has an identity endpoint, the secret is tried on it first (unless `verify` is
 * false): one the API refuses (401, 403) is not stored, as `gh auth login --with-token` does, so
 * a typo shows at once rather than on the first call. Any other failure of that call (network,
 * 5xx) says nothing about the secret: it is stored, with a note.
 */
export async function saveStaticCredentials(
  connector: Connector,
  account: string,
  secret: { api_key: string } | { username: string; password: string },
  options: { insecureStorage: boolean; verify: boolean },
  deps: AuthDeps,
): Promise<LoginResult> {
  checkOverrides(connector, deps.env);
  const credential =
    'api_key' in secret
      ? ({ kind: 'api_key', key: secret.api_key } as const)
      : ({ kind: 'basic', username: secret.username, password: secret.password } as const);
  const probe = options.verify ? await probeIdentity(connector, credential, deps) : { kind: 'none' as const };
  if (probe.kind === 'refused') {
    const what = 'api_key' in secret ? 'the API key' : 'the user name and password';
    throw new ConnectrError(
      'auth_expired',
      `${connector.displayName} refused ${what} (HTTP ${probe.status} from ${probe.endpoint}); nothing was stored`,
      {
        hint: `check ${what} and try again; if this endpoint refuses a good one (too few permissions), store it anyway with --no-verify`,
      },
    );
  }
  if (probe.kind === 'unknown') deps.notify(probe.note);
  // A user name is what the user chose to sign in as: it names the account even when the API knows it by another.
  const identity =
    'username' in secret ? secret.username : probe.kind === 'found' ? probe.identity : undefined;
  const authType = connector.auth.type === 'basic' ? 'basic' : 'api_key';
  return storeLogin(
    connector,
    account,
    secret,
    { auth_type: authType, scopes: [], ...(identity ? { identity } : {}) },
    options.insecureStorage,
    deps,
  );
}
