import type { Clock } from '../clock.js';
import { ConnectrError } from '../errors.js';
import { formBody, httpExchange } from '../http/request.js';
import type { HttpOptions } from '../http/request.js';
import type { OAuth2Auth } from './endpoints.js';
import { clientAuthentication, OAuthError, oauthErrorFrom, requestToken } from './token-endpoint.js';
import type { OAuthClient, TokenSet } from './token-endpoint.js';

/** The device authorization grant (RFC 8628), for machines without a browser. */

export interface DeviceAuthorization {
  readonly device_code: string;
  readonly user_code: string;
  readonly verification_uri: string;
  readonly verification_uri_complete?: string;
  readonly expires_in: number;
  readonly interval: number;
}

export async function requestDeviceCode(
  url: string,
  auth: OAuth2Auth,
  client: OAuthClient,
  scopes: readonly string[],
  http: HttpOptions = {},
): Promise<DeviceAuthorization> {
  const { headers, fields } = clientAuthentication(auth, client);
  const response = await httpExchange('POST', url, {
    ...http,
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: formBody({ ...fields, scope: scopes.length ? scopes.join(auth.scope_separator) : undefined }),
  });
  const body = response.json as Record<string, unknown> | undefined;
  const str = (k: string): string | undefined => (typeof body?.[k] === 'string' ? body[k] : undefined);
  const deviceCode = str('device_code');
  const userCode = str('user_code');
  // Microsoft's v1 endpoint said verification_url; RFC 8628 says verification_uri.
  const verification = str('verification_uri') ?? str('verification_url');
  if (response.status !== 200 || !deviceCode || !userCode || !verification) {
    throw oauthErrorFrom(url, response.status, body, response.text);
  }
  const complete = str('verification_uri_complete');
  return {
    device_code: deviceCode,
    user_code: userCode,
    verification_uri: verification,
    ...(complete ? { verification_uri_complete: complete } : {}),
    expires_in: Number(body?.expires_in) || 900,
    interval: Number(body?.interval) || 5,
  };
}

/**
 * Polls the token endpoint until the user approves (RFC 8628 §3.4-3.5): waits `interval`
 * between polls, adds 5 seconds on slow_down, stops on denial or expiry.
 */
export async function pollDeviceToken(
  tokenUrl: string,
  auth: OAuth2Auth,
  client: OAuthClient,
  device: DeviceAuthorization,
  clock: Clock,
  http: HttpOptions = {},
): Promise<TokenSet> {
  const deadline = clock.now() + device.expires_in * 1000;
  let interval = device.interval * 1000;
  for (;;) {
    await clock.sleep(interval, http.signal);
    if (clock.now() > deadline) break;
    try {
      return await requestToken(
        tokenUrl,
        auth,
        client,
        { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: device.device_code },
        http,
      );
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      if (error.error === 'authorization_pending') continue;
      if (error.error === 'slow_down') {
        interval += 5000;
        continue;
      }
      if (error.error === 'access_denied') {
        throw new ConnectrError('auth_required', 'access was denied on the device sign-in page', {
          hint: 'run the login again and approve the request',
        });
      }
      if (error.error === 'expired_token') break;
      throw error;
    }
  }
  throw new ConnectrError('timeout', 'the device code expired before the sign-in was approved', {
    hint: 'run the login again and enter the code sooner',
  });
}
