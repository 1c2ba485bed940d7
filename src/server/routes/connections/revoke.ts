import type { Connector } from '../../../core/connector/model.js';
import { messageOf } from '../../../core/errors.js';
import type { Env } from '../../../core/paths.js';
import { oauthEndpoints } from '../../../core/oauth/endpoints.js';
import { revokeToken } from '../../../core/oauth/revoke.js';
import type { ServerData } from '../../contracts.js';
import { findServerClient } from '../../oauth/client.js';
import { storedTokens } from './shape.js';

export interface RevocationOutcome {
  /** True when the provider confirmed the revocation. */
  readonly revoked: boolean;
  /** Why it failed, when it was tried and failed. */
  readonly error?: string;
}

/** How long the provider has to answer a revocation: the DELETE waits for it. */
const REVOKE_TIMEOUT_MS = 10_000;

/**
 * Revokes an OAuth connection's grant at the provider, where the connector declares a
 * revocation URL and a token is stored; as `connectr auth logout` does (the refresh token for
 * RFC 7009 providers, which ends the whole grant, else the access token). The OAuth client is
 * the project's saved app, else <CONNECTOR>_CLIENT_ID / _CLIENT_SECRET from the environment.
 * Never throws: a failure is the outcome's `error`.
 */
export async function revokeAtProvider(
  data: ServerData,
  env: Env,
  projectId: string,
  connector: Connector | undefined,
  secret: unknown,
): Promise<RevocationOutcome> {
  const auth = connector?.auth;
  if (!connector || auth?.type !== 'oauth2') return { revoked: false };
  const url = oauthEndpoints(connector.name, auth, env).revocation;
  if (!url) return { revoked: false };
  const tokens = storedTokens(secret);
  const token =
    auth.revocation_style === 'rfc7009' && tokens.refreshToken
      ? { value: tokens.refreshToken, hint: 'refresh_token' as const }
      : tokens.accessToken
        ? { value: tokens.accessToken, hint: 'access_token' as const }
        : undefined;
  if (!token) return { revoked: false };
  try {
    const client = (await findServerClient(data, env, projectId, connector, auth))?.client;
    const publicClient = client && auth.client_secret === 'none' ? { clientId: client.clientId } : client;
    const failure = await revokeToken(url, auth, publicClient, token, { env, timeoutMs: REVOKE_TIMEOUT_MS });
    return failure ? { revoked: false, error: failure } : { revoked: true };
  } catch (error) {
    return { revoked: false, error: messageOf(error) };
  }
}
