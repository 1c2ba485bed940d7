import type { Connector } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import type { OAuth2Auth } from '../oauth/endpoints.js';

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

/** A `scope` value split by the connector's `scope_separator` (blank: any whitespace). */
export function splitScopes(scope: string, separator: string): string[] {
  return scope
    .split(separator.trim() === '' ? /\s+/ : separator)
    .map((s) => s.trim())
    .filter(Boolean);
}
