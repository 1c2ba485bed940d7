import { ConnectrError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { formBody, hostOf, httpExchange } from '../http/request.js';
import type { HttpOptions } from '../http/request.js';
import type { OAuth2Auth } from './endpoints.js';

/** The OAuth client (the "app") that asks for tokens. */
export interface OAuthClient {
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
}

/** A successful token response (RFC 6749 §5.1). */
export interface TokenSet {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in?: number;
  readonly refresh_token?: string;
  readonly scope?: string;
  readonly id_token?: string;
}

/** An error response of the authorization server (RFC 6749 §5.2, RFC 8628 §3.5). */
export class OAuthError extends ConnectrError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly error: string,
    readonly description: string | undefined,
    hint?: string,
  ) {
    super(code, message, { hint });
  }
}

/** Client authentication as the connector says (RFC 6749 §2.3.1); public clients send only their id. */
export function clientAuthentication(
  auth: OAuth2Auth,
  client: OAuthClient,
): { headers: Record<string, string>; fields: Record<string, string | undefined> } {
  const secret = auth.client_secret === 'none' ? undefined : client.clientSecret;
  if (secret !== undefined && auth.client_auth === 'basic') {
    // The id and secret are form-urlencoded before base64 (RFC 6749 §2.3.1).
    const encode = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
    const credentials = Buffer.from(`${encode(client.clientId)}:${encode(secret)}`).toString('base64');
    return { headers: { authorization: `Basic ${credentials}` }, fields: {} };
  }
  return { headers: {}, fields: { client_id: client.clientId, client_secret: secret } };
}

/** POSTs a grant to the token endpoint and returns the tokens, or throws an OAuthError. */
export async function requestToken(
  tokenUrl: string,
  auth: OAuth2Auth,
  client: OAuthClient,
  grant: Record<string, string | undefined>,
  http: HttpOptions = {},
): Promise<TokenSet> {
  const { headers, fields } = clientAuthentication(auth, client);
  const response = await httpExchange('POST', tokenUrl, {
    ...http,
    headers: {
      ...headers,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: formBody({ ...grant, ...fields, ...auth.token_params }),
  });
  const body = response.json as Record<string, unknown> | undefined;
  if (response.status >= 200 && response.status < 300 && typeof body?.access_token === 'string') {
    return parseTokenSet(tokenUrl, body);
  }
  throw oauthErrorFrom(tokenUrl, response.status, body, response.text);
}

/**
 * The longest lifetime an access token is taken to have (ten years): beyond it, an expiry is a
 * unit error or garbage, and would not fit a date (1e15 seconds is past JavaScript's last day).
 */
export const MAX_TOKEN_LIFETIME_S = 10 * 365 * 24 * 3600;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * The token set of a successful answer, checked before anything of it is stored or sent: a
 * token, type or scope holding a control character (a NUL above all) and an expiry beyond
 * MAX_TOKEN_LIFETIME_S are the provider's fault, an `upstream` error naming the field.
 */
function parseTokenSet(tokenUrl: string, body: Record<string, unknown>): TokenSet {
  const unusable = (field: string, why: string): OAuthError =>
    new OAuthError(
      'upstream',
      `${hostOf(tokenUrl)} answered the token request with an unusable ${field}: ${why}`,
      'invalid_token_response',
      undefined,
      'the provider answered something no OAuth client can use; try again, or report it to the provider',
    );
  const str = (k: string): string | undefined => {
    const value = body[k];
    if (typeof value !== 'string') return undefined;
    if (CONTROL.test(value)) throw unusable(k, 'it holds a control character');
    return value;
  };
  const expires = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in);
  if (Number.isFinite(expires) && expires > MAX_TOKEN_LIFETIME_S)
    throw unusable('expires_in', `${expires} seconds is more than ten years`);
  const refresh = str('refresh_token');
  const scope = str('scope');
  const idToken = str('id_token');
  return {
    access_token: str('access_token') ?? '',
    token_type: str('token_type') ?? 'Bearer',
    ...(Number.isFinite(expires) && expires > 0 ? { expires_in: expires } : {}),
    ...(refresh ? { refresh_token: refresh } : {}),
    ...(scope !== undefined ? { scope } : {}),
    ...(idToken ? { id_token: idToken } : {}),
  };
}

export function oauthErrorFrom(
  url: string,
  status: number,
  body: Record<string, unknown> | undefined,
  text: string,
): OAuthError {
  const error = typeof body?.error === 'string' ? body.error : undefined;
  const description = typeof body?.error_description === 'string' ? body.error_description : undefined;
  const host = hostOf(url);
  if (!error) {
    const snippet = text.trim().slice(0, 200);
    return new OAuthError(
      status >= 500 ? 'upstream' : 'auth_required',
      `${host} answered the token request with HTTP ${status}${snippet ? `: ${snippet}` : ''}`,
      `http_${status}`,
      undefined,
    );
  }
  const code: ErrorCode =
    error === 'invalid_grant' ? 'auth_expired' : status >= 500 ? 'upstream' : 'auth_required';
  return new OAuthError(
    code,
    `${host} refused the token request: ${error}${description ? ` (${description})` : ''}`,
    error,
    description,
  );
}
