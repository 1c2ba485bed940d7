import type { Connector } from '../connector/model.js';
import { checkOverrides } from './binding.js';
import type { AuthDeps } from './deps.js';
import { discoverIdentity } from './identity.js';
import { storeLogin } from './save-login.js';
import type { LoginResult } from './save-login.js';

/** Stores an API key or a user name and password for an `api_key` or `basic` connector. */
export async function saveStaticCredentials(
  connector: Connector,
  account: string,
  secret: { api_key: string } | { username: string; password: string },
  insecureStorage: boolean,
  deps: AuthDeps,
): Promise<LoginResult> {
  checkOverrides(connector, deps.env);
  const credential =
    'api_key' in secret
      ? ({ kind: 'api_key', key: secret.api_key } as const)
      : ({ kind: 'basic', username: secret.username, password: secret.password } as const);
  const identity =
    'username' in secret ? secret.username : await discoverIdentity(connector, credential, undefined, deps);
  const authType = connector.auth.type === 'basic' ? 'basic' : 'api_key';
  return storeLogin(
    connector,
    account,
    secret,
    { auth_type: authType, scopes: [], ...(identity ? { identity } : {}) },
    insecureStorage,
    deps,
  );
}
