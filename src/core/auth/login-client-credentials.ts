import type { Connector } from '../connector/model.js';
import { oauthEndpoints } from '../oauth/endpoints.js';
import { requestToken } from '../oauth/token-endpoint.js';
import type { OAuthClient } from '../oauth/token-endpoint.js';
import { checkOverrides } from './binding.js';
import type { AuthDeps } from './deps.js';
import { oauth2Of } from './oauth2.js';
import { saveLogin } from './save-login.js';
import type { LoginResult } from './save-login.js';

/** The client credentials grant: an app token, no user. */

export async function loginWithClientCredentials(
  connector: Connector,
  client: OAuthClient,
  options: { account: string; scopes: readonly string[]; insecureStorage: boolean; signal: AbortSignal },
  deps: AuthDeps,
): Promise<LoginResult> {
  const auth = oauth2Of(connector);
  checkOverrides(connector, deps.env);
  const endpoints = oauthEndpoints(connector.name, auth, deps.env);
  const tokens = await requestToken(
    endpoints.token,
    auth,
    client,
    {
      grant_type: 'client_credentials',
      scope: options.scopes.length ? options.scopes.join(auth.scope_separator) : undefined,
    },
    { ...deps.http, signal: options.signal },
  );
  return saveLogin(connector, options.account, 'client_credentials', tokens, client, options, deps);
}
