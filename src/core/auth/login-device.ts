import type { Connector } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import { requestDeviceCode, pollDeviceToken } from '../oauth/device.js';
import { oauthEndpoints } from '../oauth/endpoints.js';
import type { OAuthClient } from '../oauth/token-endpoint.js';
import { checkOverrides } from './binding.js';
import type { AuthDeps } from './deps.js';
import type { BrowserLoginOptions } from './login-browser.js';
import { oauth2Of } from './oauth2.js';
import { saveLogin } from './save-login.js';
import type { LoginResult } from './save-login.js';

/** The device sign-in (RFC 8628): a code the user enters on another device. */

export async function loginWithDevice(
  connector: Connector,
  client: OAuthClient,
  options: Omit<BrowserLoginOptions, 'port' | 'timeoutMs' | 'pastedUrl'>,
  deps: AuthDeps,
): Promise<LoginResult> {
  const auth = oauth2Of(connector);
  checkOverrides(connector, deps.env);
  const endpoints = oauthEndpoints(connector.name, auth, deps.env);
  if (!endpoints.deviceAuthorization || !auth.grants.includes('device_code')) {
    throw new ConnectrError('invalid_input', `${connector.displayName} does not offer device sign-in`, {
      hint: 'use the browser sign-in (with --no-browser on a machine without one)',
    });
  }
  const http = { ...deps.http, signal: options.signal };
  const device = await requestDeviceCode(endpoints.deviceAuthorization, auth, client, options.scopes, http);
  const minutes = Math.max(1, Math.round(device.expires_in / 60));
  deps.notify(
    `To sign in to ${connector.displayName}, open ${device.verification_uri} and enter the code ${device.user_code} (valid ${minutes} min).`,
  );
  if (options.openUrl) {
    options.openUrl(device.verification_uri_complete ?? device.verification_uri).catch(() => undefined);
  }
  const tokens = await pollDeviceToken(endpoints.token, auth, client, device, deps.clock, http);
  return saveLogin(connector, options.account, 'device_code', tokens, client, options, deps);
}
