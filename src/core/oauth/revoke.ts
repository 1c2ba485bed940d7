import { formBody, hostOf, httpExchange } from '../http/request.js';
import type { HttpOptions } from '../http/request.js';
import type { OAuth2Auth } from './endpoints.js';
import { clientAuthentication } from './token-endpoint.js';
import type { OAuthClient } from './token-endpoint.js';

/**
 * Revokes a token at the provider. RFC 7009 providers take the token in a form body (revoking a
 * refresh token ends the whole grant); Dropbox-style providers revoke the bearer token itself.
 * Returns an error message, or undefined on success; a 2xx answer with an `error` field (Slack's
 * `{"ok": false, "error": ...}`) is a failure too, in the provider's words without the token or
 * the client secret.
 */
export async function revokeToken(
  url: string,
  auth: OAuth2Auth,
  client: OAuthClient | undefined,
  token: { value: string; hint: 'refresh_token' | 'access_token' },
  http: HttpOptions = {},
): Promise<string | undefined> {
  let response;
  /** What was sent that a provider's error text must not repeat. */
  const sent: (string | undefined)[] = [token.value];
  if (auth.revocation_style === 'bearer') {
    response = await httpExchange('POST', url, {
      ...http,
      headers: { authorization: `Bearer ${token.value}` },
    });
  } else {
    const { headers, fields } = client ? clientAuthentication(auth, client) : { headers: {}, fields: {} };
    sent.push(fields.client_secret, headers.authorization?.replace(/^Basic /, ''));
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
  if (!error) return undefined;
  return `${hostOf(url)} refused the revocation: ${providerWords(error, sent)}`;
}

/** The most of a provider's error text repeated: an error code, a sentence at most. */
const PROVIDER_WORDS_LIMIT = 300;

/**
 * A provider's error text as it may be shown on: it is the provider's, so it may repeat what it
 * was sent (the token, the client secret), hold control characters, or run to a megabyte.
 */
function providerWords(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret), formBody({ s: secret }).slice(2)]))
      out = out.split(form).join('[REDACTED]');
  }
  // eslint-disable-next-line no-control-regex
  out = out.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return out.length > PROVIDER_WORDS_LIMIT ? `${out.slice(0, PROVIDER_WORDS_LIMIT)}...` : out;
}

function errorField(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const error = (body as Record<string, unknown>).error;
  return typeof error === 'string' && error ? error : undefined;
}
