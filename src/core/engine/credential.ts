import type { Connector } from '../connector/model.js';

/** What a request is authenticated with, and how it is put on the request. */
export type Credential =
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'api_key'; readonly key: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'none' };

/**
 * The query parameter a credential goes in, as name and value (not encoded), when the
 * connector's auth puts its API key in the query; undefined for a credential sent in a header.
 */
export function credentialQueryParam(
  connector: Connector,
  credential: Credential,
): readonly [name: string, value: string] | undefined {
  const auth = connector.auth;
  if (credential.kind !== 'api_key' || auth.type !== 'api_key' || auth.in !== 'query') return undefined;
  return [auth.name, `${auth.prefix ?? ''}${credential.key}`];
}

/** Adds the credential to a request's headers or query, as the connector's auth says. */
export function applyCredential(
  connector: Connector,
  credential: Credential,
  url: URL,
  headers: Record<string, string>,
): void {
  switch (credential.kind) {
    case 'bearer':
      headers.authorization = `Bearer ${credential.token}`;
      return;
    case 'basic':
      headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
      return;
    case 'api_key': {
      const auth = connector.auth;
      if (auth.type !== 'api_key') return;
      const inQuery = credentialQueryParam(connector, credential);
      if (inQuery) url.searchParams.set(...inQuery);
      else headers[auth.name.toLowerCase()] = `${auth.prefix ?? ''}${credential.key}`;
      return;
    }
    case 'none':
      return;
  }
}

/** A credential as a source hands it out, with whether asking again can give a new one. */
export interface SuppliedCredential {
  readonly credential: Credential;
  /**
   * Whether `credential({ forceRefresh: true })` can give a different credential after the API
   * refused this one (401): true for a refreshable OAuth sign-in; false for a token from the
   * environment, an API key or a password, whose 401 is then final and reported as such.
   */
  readonly refreshable: boolean;
  /**
   * What fixes this credential when the API refuses it, when signing in again would not: a
   * token from the environment names its variable. Absent: `connectr auth` is the fix.
   */
  readonly refusedHint?: string | undefined;
}

/**
 * Where the engine gets credentials: the one interface between it and the places they are
 * kept. The CLI's implementation is `localCredentials` (core/auth/tokens.ts: environment
 * tokens, the vault, the chosen account, binding checks); the daemon's reads its database.
 */
export interface CredentialSource {
  /**
   * A valid credential (refreshed first when it is about to expire). With `forceRefresh`, a new
   * one, because the API has just refused the last one; asked only when it was `refreshable`.
   */
  credential(options?: { readonly forceRefresh?: boolean }): Promise<SuppliedCredential>;
}
