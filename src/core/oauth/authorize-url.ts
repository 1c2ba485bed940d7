import type { OAuth2Auth } from './endpoints.js';

/** The authorization request URL (RFC 6749 §4.1.1, with PKCE per RFC 7636 §4.3). */
export function authorizationUrl(
  authorizationEndpoint: string,
  auth: OAuth2Auth,
  request: {
    clientId: string;
    redirectUri: string;
    scopes: readonly string[];
    state: string;
    codeChallenge?: string | undefined;
  },
): string {
  const url = new URL(authorizationEndpoint);
  const set = (k: string, v: string): void => {
    url.searchParams.set(k, v);
  };
  set('response_type', 'code');
  set('client_id', request.clientId);
  set('redirect_uri', request.redirectUri);
  if (request.scopes.length > 0) set('scope', request.scopes.join(auth.scope_separator));
  set('state', request.state);
  if (request.codeChallenge) {
    set('code_challenge', request.codeChallenge);
    set('code_challenge_method', 'S256');
  }
  for (const [k, v] of Object.entries(auth.authorization_params ?? {})) set(k, v);
  return url.toString();
}
