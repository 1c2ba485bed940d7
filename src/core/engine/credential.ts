import type { Connector } from '../connector/model.js';

/** What a request is authenticated with, and how it is put on the request. */
export type Credential =
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'api_key'; readonly key: string }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'none' };

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
      const value = `${auth.prefix ?? ''}${credential.key}`;
      if (auth.in === 'header') headers[auth.name.toLowerCase()] = value;
      else url.searchParams.set(auth.name, value);
      return;
    }
    case 'none':
      return;
  }
}
