/**
 * Where the browser goes after a sign-in at GET /oauth/callback, when the app gave a return_url:
 * back to it with the outcome in its query, so the app learns it from the request it receives
 * and never has to poll. Only stable codes and the connection id are added: never a token, the
 * code or the state, and never the provider's own text (an app would show it as its own).
 */

/** The outcome codes of `error=` (docs/server.md lists them): the provider's, and connectr's own. */
export type ReturnError =
  | ProviderErrorCode
  | 'provider_error'
  | 'expired'
  | 'already_used'
  | 'missing_code'
  | 'exchange_failed'
  | 'connection_deleted'
  /** The end user left the Connect page without connecting. */
  | 'cancelled';

/** The error codes a provider may send back (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6): passed on as they are. */
const PROVIDER_ERRORS = [
  'access_denied',
  'invalid_request',
  'unauthorized_client',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
] as const;
type ProviderErrorCode = (typeof PROVIDER_ERRORS)[number];

/** The provider's `error`, when it is a standard code; else `provider_error` (its text is not passed on). */
export function providerError(error: string): ReturnError {
  return (PROVIDER_ERRORS as readonly string[]).includes(error)
    ? (error as ProviderErrorCode)
    : 'provider_error';
}

export type Outcome =
  | { readonly status: 'connected'; readonly connectionId: string }
  | {
      readonly status: 'error';
      readonly error: ReturnError;
      readonly connectionId?: string | null | undefined;
    };

/** The parameters connectr adds; any of the same name already in return_url are taken out, so each is said once. */
const OURS = new Set(['connection_id', 'status', 'error']);

/**
 * `returnUrl` with the outcome appended to its query, before its fragment; the rest of it is kept
 * byte for byte (no re-encoding of the app's own parameters).
 */
export function returnUrlWith(returnUrl: string, outcome: Outcome): string {
  const hash = returnUrl.indexOf('#');
  const fragment = hash < 0 ? '' : returnUrl.slice(hash);
  const beforeHash = hash < 0 ? returnUrl : returnUrl.slice(0, hash);
  const mark = beforeHash.indexOf('?');
  const path = mark < 0 ? beforeHash : beforeHash.slice(0, mark);
  const query = mark < 0 ? '' : beforeHash.slice(mark + 1);
  const kept = query.split('&').filter((part) => part !== '' && !OURS.has(keyOf(part)));
  const added: [string, string][] = [];
  if (outcome.connectionId) added.push(['connection_id', outcome.connectionId]);
  added.push(['status', outcome.status]);
  if (outcome.status === 'error') added.push(['error', outcome.error]);
  const pairs = added.map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  return `${path}?${[...kept, ...pairs].join('&')}${fragment}`;
}

/** A query part's name, decoded as a form would be (`+` a space); an undecodable one as it is. */
function keyOf(part: string): string {
  const equals = part.indexOf('=');
  const raw = (equals < 0 ? part : part.slice(0, equals)).replace(/\+/g, ' ');
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
