import { formBody, hostOf, httpExchange } from '../http/request.js';
import type { HttpOptions } from '../http/request.js';
import type { OAuth2Auth } from './endpoints.js';
import { clientAuthentication } from './token-endpoint.js';
import type { OAuthClient } from './token-endpoint.js';

/**
 * Revokes a token at the provider. RFC 7009 providers take the token in a form body (revoking a
 * refresh token ends the whole grant); Dropbox-style providers revoke the bearer token itself.
 * Returns an error message, or undefined on success; a 2xx answer with an `error` field (Slack's
 * `{"ok": false, "error": ...}`) is a failure too.
 */
export async function revokeToken(
  url: string,
  auth: OAuth2Auth,
  client: OAuthClient | undefined,
  token: { value: string; hint: 'refresh_token' | 'access_token' },
  http: HttpOptions = {},
): Promise<string | undefined> {
  let response;
  if (auth.revocation_style === 'bearer') {
    response = await httpExchange('POST', url, {
      ...http,
      headers: { authorization: `Bearer ${token.value}` },
    });
  } else {
    const { headers, fields } = client ? clientAuthentication(auth, client) : { headers: {}, fields: {} };
    response = await httpExchange('POST', url, {
      ...http,
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({ token: token.value, token_type_hint: token.hint, ...fields }),
    });
  }
  // RFC 7009 §2.2: 200 also for tokens that were already invalid; anything else failed.
  if (response.status < 200 || response.status >= 300) {
    return `${hostOf(url)} answered the revocation with HTTP ${response.status}`;
  }
  // A 2xx answer that names an error is a refusal all the same: Slack's auth.revoke answers
  // every error as HTTP 200 {"ok": false, "error": "invalid_auth"}.
  const error = errorField(response.json);
  return error ? `${hostOf(url)} refused the revocation: ${error}` : undefined;
}

function errorField(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const error = (body as Record<string, unknown>).error;
  return typeof error === 'string' && error ? error : undefined;
}
