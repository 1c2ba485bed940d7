import type { FastifyBaseLogger } from 'fastify';
import type { Connector } from '../../core/connector/model.js';
import { isConnectrError } from '../../core/errors.js';
import type { Env } from '../../core/paths.js';
import { oauthEndpoints } from '../../core/oauth/endpoints.js';
import { revokeToken } from '../../core/oauth/revoke.js';
import type { ServerData } from '../contracts.js';
import { internalErrorMessage, loggedFault } from '../errors.js';
import { findServerClient } from '../oauth/client.js';

export interface RevocationOutcome {
  /** True when the provider confirmed the revocation. */
  readonly revoked: boolean;
  /** Why it failed, when it was tried and failed. */
  readonly error?: string;
}

/** The request the revocation is part of: an unexpected fault is logged under its id. */
export interface RevocationRequest {
  readonly id: string;
  readonly log: FastifyBaseLogger;
}

/** How long the provider has to answer a revocation: the DELETE waits for it. */
const REVOKE_TIMEOUT_MS = 10_000;

/**
 * Revokes an OAuth connection's grant at the provider, where the connector declares a
 * revocation URL and a token is stored; as `connectr auth logout` does (the refresh token for
 * RFC 7009 providers, which ends the whole grant, else the access token). The OAuth client is
 * the project's saved app, else <CONNECTOR>_CLIENT_ID / _CLIENT_SECRET from the environment.
 * Never throws: a failure is the outcome's `error`, in the provider's words (its answer, or that
 * it could not be reached) or, for a fault inside the server (the database read of the OAuth
 * app, say), a generic text naming the request, the cause in the log: the database's text
 * quotes its statement and the project's internal id.
 */
export async function revokeAtProvider(
  data: ServerData,
  env: Env,
  projectId: string,
  connector: Connector | undefined,
  secret: unknown,
  request: RevocationRequest,
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
  let client;
  try {
    client = (await findServerClient(data, env, projectId, connector, auth))?.client;
  } catch (error) {
    return unexpected(error, request);
  }
  const publicClient = client && auth.client_secret === 'none' ? { clientId: client.clientId } : client;
  try {
    const failure = await revokeToken(url, auth, publicClient, token, { env, timeoutMs: REVOKE_TIMEOUT_MS });
    return failure ? { revoked: false, error: failure } : { revoked: true };
  } catch (error) {
    // The provider unreachable, too slow, or answering far too much: said in connectr's words,
    // naming its host only.
    if (isConnectrError(error)) return { revoked: false, error: error.message };
    return unexpected(error, request);
  }
}

function unexpected(error: unknown, request: RevocationRequest): RevocationOutcome {
  // As the error plugin logs a 500: an outage by the driver's error alone (drizzle's wrapper
  // quotes the statement and its values).
  request.log.error({ err: loggedFault(error) }, 'revocation failed');
  return { revoked: false, error: `the grant could not be revoked: ${internalErrorMessage(request.id)}` };
}

/** What an OAuth connection's credential holds (the token response as stored), read defensively. */
export interface StoredTokens {
  readonly accessToken: string | undefined;
  readonly refreshToken: string | undefined;
  readonly tokenType: string | undefined;
}

export function storedTokens(secret: unknown): StoredTokens {
  const field = (key: string): string | undefined => {
    if (typeof secret !== 'object' || secret === null || !Object.hasOwn(secret, key)) return undefined;
    const value: unknown = (secret as Record<string, unknown>)[key];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  return {
    accessToken: field('access_token'),
    refreshToken: field('refresh_token'),
    tokenType: field('token_type'),
  };
}
