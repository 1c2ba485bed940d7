import { envSegment } from '../connector/model.js';
import type { ResolvedAuth } from '../connector/model.js';
import type { Env } from '../paths.js';

export type OAuth2Auth = Extract<ResolvedAuth, { type: 'oauth2' }>;

export interface OAuthEndpoints {
  readonly authorization?: string | undefined;
  readonly token: string;
  readonly revocation?: string | undefined;
  readonly deviceAuthorization?: string | undefined;
}

/**
 * The OAuth URLs of a connector, each overridable like its API hosts
 * (CONNECTR_<CONNECTOR>_TOKEN_URL ...): for proxies, sovereign clouds and local test servers.
 */
export function oauthEndpoints(connector: string, auth: OAuth2Auth, env: Env): OAuthEndpoints {
  const override = (field: string, value: string | undefined): string | undefined =>
    env[oauthEnvName(connector, field)] || value;
  return {
    authorization: override('AUTHORIZATION_URL', auth.authorization_url),
    token: override('TOKEN_URL', auth.token_url) ?? auth.token_url,
    revocation: override('REVOCATION_URL', auth.revocation_url),
    deviceAuthorization: override('DEVICE_AUTHORIZATION_URL', auth.device_authorization_url),
  };
}

export function oauthEnvName(connector: string, field: string): string {
  return `CONNECTR_${envSegment(connector)}_${field}`;
}
