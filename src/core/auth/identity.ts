import { effectiveHostUrl, findEndpoint, findHost } from '../connector/model.js';
import type { Connector } from '../connector/model.js';
import { messageOf } from '../errors.js';
import { httpExchange } from '../http/request.js';
import { getPath } from '../json-path.js';
import { expandPath, joinBaseUrl } from '../engine/url.js';
import { applyCredential } from '../engine/credential.js';
import { saysFailed } from '../engine/response.js';
import type { Credential } from '../engine/credential.js';
import type { AuthDeps } from './deps.js';

/**
 * Who just signed in, for `connectr accounts`: the connector's identity endpoint (Gmail's
 * profile, Dropbox's current account, Graph's /me), else the claims of an OpenID id_token.
 * Never fatal: an account without a known identity still works.
 */
export async function discoverIdentity(
  connector: Connector,
  credential: Credential,
  idToken: string | undefined,
  deps: Pick<AuthDeps, 'env' | 'http' | 'notify'>,
): Promise<string | undefined> {
  return (await discoverAccount(connector, credential, idToken, deps)).identity;
}

/**
 * discoverIdentity, with the key the provider's pushes name the account by when the connector's
 * `webhooks.identity_key` says where the identity endpoint's answer holds it (Dropbox's
 * account_id, Slack's team_id): the daemon keeps it to attribute pushes to the connection.
 */
export async function discoverAccount(
  connector: Connector,
  credential: Credential,
  idToken: string | undefined,
  deps: Pick<AuthDeps, 'env' | 'http' | 'notify'>,
): Promise<{ identity: string | undefined; accountKey?: string }> {
  const probe = await probeIdentity(connector, credential, deps);
  if (probe.kind === 'found') {
    return {
      identity: probe.identity,
      ...(probe.accountKey === undefined ? {} : { accountKey: probe.accountKey }),
    };
  }
  if (probe.kind !== 'none') deps.notify(probe.note);
  return { identity: idToken ? identityFromIdToken(idToken) : undefined };
}

/** What the identity endpoint said of a credential. */
export type IdentityProbe =
  /** The connector has no identity endpoint: nothing was asked. */
  | { readonly kind: 'none' }
  | { readonly kind: 'found'; readonly identity: string; readonly accountKey?: string }
  /** The API answered 401 or 403: it does not take this credential. */
  | { readonly kind: 'refused'; readonly status: number; readonly endpoint: string; readonly note: string }
  /** Anything else (network, 5xx, an answer without the identity): nothing is known. */
  | { readonly kind: 'unknown'; readonly note: string };

/** Asks the connector's identity endpoint who `credential` belongs to. */
export async function probeIdentity(
  connector: Connector,
  credential: Credential,
  deps: Pick<AuthDeps, 'env' | 'http'>,
): Promise<IdentityProbe> {
  const identity = connector.identity;
  const endpoint = identity ? findEndpoint(connector, identity.endpoint) : undefined;
  const host = endpoint ? findHost(connector, endpoint.host) : undefined;
  if (!identity || !endpoint || !host) return { kind: 'none' };
  try {
    const url = new URL(joinBaseUrl(effectiveHostUrl(host, deps.env), expandPath(endpoint, {})));
    // Query params with a default go too (Drive's about.get requires fields).
    for (const param of endpoint.params) {
      if (param.in === 'query' && param.default !== undefined && isScalar(param.default))
        url.searchParams.set(param.wireName, String(param.default));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    applyCredential(connector, credential, url, headers);
    const response = await httpExchange(endpoint.method, url.toString(), { ...deps.http, headers });
    const value = getPath(response.json, identity.path);
    if (response.status < 300 && (typeof value === 'string' || typeof value === 'number')) {
      const keyPath =
        connector.webhooks && 'identity_key' in connector.webhooks
          ? connector.webhooks.identity_key
          : undefined;
      const key = keyPath === undefined ? undefined : getPath(response.json, keyPath);
      return {
        kind: 'found',
        identity: String(value),
        ...(typeof key === 'string' || typeof key === 'number' ? { accountKey: String(key) } : {}),
      };
    }
    const failed = saysFailed(connector, response.json);
    const note = `note: could not read who signed in (${endpoint.name} answered ${failed ? `"${failed.code ?? 'not ok'}"` : `HTTP ${response.status}`})`;
    if (response.status === 401 || response.status === 403)
      return { kind: 'refused', status: response.status, endpoint: endpoint.name, note };
    return { kind: 'unknown', note };
  } catch (error) {
    return { kind: 'unknown', note: `note: could not read who signed in (${messageOf(error)})` };
  }
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** The e-mail or user name in an OpenID Connect id_token (display only, not trusted for access). */
export function identityFromIdToken(idToken: string): string | undefined {
  const payload = idToken.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    for (const claim of ['email', 'preferred_username', 'upn', 'sub']) {
      const value = claims[claim];
      if (typeof value === 'string' && value) return value;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
