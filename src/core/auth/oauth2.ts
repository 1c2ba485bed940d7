import type { Connector } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import type { OAuth2Auth } from '../oauth/endpoints.js';
import type { OAuth2Definition } from '../connector/schema.js';

/** The connector's OAuth 2.0 settings; an error for a connector that signs in otherwise. */
export function oauth2Of(connector: Connector): OAuth2Auth {
  if (connector.auth.type !== 'oauth2') {
    throw new ConnectrError(
      'invalid_input',
      `${connector.name} does not use OAuth 2.0 (its auth is ${connector.auth.type})`,
    );
  }
  return connector.auth;
}

/**
 * A granted `scope` value from the token endpoint, split by the connector's
 * `granted_scope_separator`, else its `scope_separator`, and by whitespace, RFC 6749's
 * separator, which no scope name may contain.
 */
export function splitScopes(
  scope: string,
  auth: Pick<OAuth2Definition, 'scope_separator' | 'granted_scope_separator'>,
): string[] {
  const separator = auth.granted_scope_separator ?? auth.scope_separator;
  return scope
    .split(/\s+/)
    .flatMap((part) => (separator.trim() === '' ? [part] : part.split(separator)))
    .map((s) => s.trim())
    .filter(Boolean);
}
