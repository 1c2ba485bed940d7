import type {
  AuthDefinition,
  ConnectorDefinition,
  EndpointDefinition,
  JsonPath,
  ParamDefinition,
  WebhooksDefinition,
} from './schema.js';
import { unknownName } from '../suggest.js';
import { definitionVersion } from './versions.js';
import { DEFAULT_MAX_WAIT_MS, MAX_WAIT_LIMIT_MS, maxWaitOf } from '../limits/spec.js';
import type { RateLimits } from '../limits/spec.js';

/**
 * The validated, normalised connector the engine works with: defaults filled in, every
 * endpoint knows its host, every param its wire name and CLI flag. Built once from a
 * definition by `toConnector`; plain data so it can be cached as JSON.
 */

export type ConnectorOrigin = 'builtin' | 'user' | 'extra';

export interface ConnectorSource {
  readonly file: string;
  readonly origin: ConnectorOrigin;
  /** The file this one replaces, when a user connector overrides another of the same name. */
  readonly overrides?: string;
}

export interface Host {
  readonly key: string;
  readonly url: string;
  /** Environment variable that overrides `url`. */
  readonly env: string;
  readonly description?: string;
}

export interface Param extends ParamDefinition {
  readonly key: string;
  /** Name on the wire (query key, header name, body field). */
  readonly wireName: string;
  /** Long CLI flag, without the leading dashes. */
  readonly flag: string;
}

export interface Endpoint extends Omit<EndpointDefinition, 'params' | 'host'> {
  readonly name: string;
  readonly host: string;
  readonly params: readonly Param[];
}

export type ResolvedAuth =
  | (Extract<AuthDefinition, { type: 'oauth2' }> & {
      readonly client_id_env: string;
      readonly client_secret_env: string;
    })
  | (Extract<AuthDefinition, { type: 'api_key' }> & { readonly env: string })
  | (Extract<AuthDefinition, { type: 'basic' }> & {
      readonly username_env: string;
      readonly password_env: string;
    })
  | Extract<AuthDefinition, { type: 'none' }>;

export interface Connector {
  readonly name: string;
  readonly displayName: string;
  /** A whole number from 1 (connector/versions.ts); connections and accounts pin it. */
  readonly version: number;
  readonly docsUrl: string;
  readonly description: string;
  readonly hosts: readonly Host[];
  /** Other origins redirects may go to, without the credential (engine/follow.ts). */
  readonly redirectHosts: {
    readonly origins: readonly string[];
    /** Environment variable that replaces the list (comma-separated). */
    readonly env: string;
  };
  readonly auth: ResolvedAuth;
  readonly identity?: { readonly endpoint: string; readonly path: JsonPath };
  /** The endpoint a health check calls with no params (a cheap read of the signed-in account). */
  readonly health?: { readonly endpoint: string };
  /** The provider's pushes, as declared (served by the daemon at /webhooks/providers/<name>). */
  readonly webhooks?: WebhooksDefinition;
  readonly rateLimit: {
    readonly retryStatuses: readonly number[];
    readonly retryAfterHeaders: readonly string[];
    readonly resetHeaders: readonly string[];
    readonly retryAfterPath?: JsonPath;
    /** Calls left in the window: "0" pauses the rate limits until the reset header's time. */
    readonly remainingHeaders: readonly string[];
    /** Provider error codes that mean rate-limited, even in a 2xx answer (Slack's ratelimited). */
    readonly codes: readonly string[];
  };
  /** The rate limits connectr keeps (core/limits); absent when the connector declares none. */
  readonly rateLimits?: RateLimits;
  readonly errors: {
    readonly messagePaths: readonly JsonPath[];
    readonly codePaths: readonly JsonPath[];
    /** A 2xx JSON answer with `false` here failed (Slack's `ok`). */
    readonly okPath?: JsonPath;
    /** Provider codes that mean the token expired, as a 401 does. */
    readonly expiredCodes: readonly string[];
  };
  readonly endpoints: readonly Endpoint[];
  readonly source: ConnectorSource;
}

/** CONNECTR_GMAIL_..., from a connector or host name. */
export function envSegment(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** `maxResults` -> `max-results`, `$top` -> `top`, `from_path` -> `from-path`. */
export function defaultFlag(key: string): string {
  return key
    .replace(/^[^A-Za-z]+/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}

export function toConnector(def: ConnectorDefinition, source: ConnectorSource): Connector {
  const connectorEnv = envSegment(def.name);
  const hosts: Host[] = Object.entries(def.hosts).map(([key, host]) => {
    const env = `CONNECTR_${connectorEnv}_${envSegment(key)}_BASE_URL`;
    if (typeof host === 'string') return { key, url: host, env };
    return {
      key,
      url: host.url,
      env: host.env ?? env,
      ...(host.description === undefined ? {} : { description: host.description }),
    };
  });
  const defaultHost = hosts[0]?.key ?? 'api';
  const endpoints: Endpoint[] = Object.entries(def.endpoints).map(([name, ep]) => {
    const { params, host, ...rest } = ep;
    return {
      ...rest,
      name,
      host: host ?? defaultHost,
      params: Object.entries(params).map(([key, p]) => ({
        ...p,
        key,
        wireName: p.name ?? key,
        flag: p.flag ?? defaultFlag(key),
      })),
    };
  });
  return {
    name: def.name,
    displayName: def.display_name,
    version: definitionVersion(def.version),
    docsUrl: def.docs_url,
    description: def.description,
    hosts,
    redirectHosts: { origins: def.redirect_hosts ?? [], env: `CONNECTR_${connectorEnv}_REDIRECT_HOSTS` },
    auth: resolveAuth(def.auth, connectorEnv),
    ...(def.identity ? { identity: def.identity } : {}),
    ...(def.health ? { health: { endpoint: def.health.endpoint } } : {}),
    ...(def.webhooks ? { webhooks: def.webhooks } : {}),
    rateLimit: {
      retryStatuses: def.rate_limit?.retry_statuses ?? [429, 503],
      retryAfterHeaders: def.rate_limit?.retry_after_headers ?? ['Retry-After'],
      resetHeaders: def.rate_limit?.reset_headers ?? [],
      ...(def.rate_limit?.retry_after_path ? { retryAfterPath: def.rate_limit.retry_after_path } : {}),
      remainingHeaders: def.rate_limit?.remaining_headers ?? [],
      codes: def.rate_limit?.codes ?? [],
    },
    ...(def.rate_limits ? { rateLimits: rateLimitsOf(def.rate_limits) } : {}),
    errors: {
      messagePaths: def.errors?.message_paths ?? [],
      codePaths: def.errors?.code_paths ?? [],
      ...(def.errors?.ok_path === undefined ? {} : { okPath: def.errors.ok_path }),
      expiredCodes: def.errors?.expired_codes ?? [],
    },
    endpoints,
    source,
  };
}

function rateLimitsOf(declared: NonNullable<ConnectorDefinition['rate_limits']>): RateLimits {
  const { max_wait, limits } = Array.isArray(declared) ? { max_wait: undefined, limits: declared } : declared;
  // max_wait's form and bound were checked with the definition (checks.ts).
  const maxWaitMs = max_wait === undefined ? undefined : maxWaitOf(max_wait);
  return { maxWaitMs: Math.min(maxWaitMs ?? DEFAULT_MAX_WAIT_MS, MAX_WAIT_LIMIT_MS), limits };
}

function resolveAuth(auth: AuthDefinition, env: string): ResolvedAuth {
  switch (auth.type) {
    case 'oauth2':
      return {
        ...auth,
        client_id_env: auth.client_id_env ?? `${env}_CLIENT_ID`,
        client_secret_env: auth.client_secret_env ?? `${env}_CLIENT_SECRET`,
      };
    case 'api_key':
      return { ...auth, env: auth.env ?? `${env}_API_KEY` };
    case 'basic':
      return {
        ...auth,
        username_env: auth.username_env ?? `${env}_USERNAME`,
        password_env: auth.password_env ?? `${env}_PASSWORD`,
      };
    case 'none':
      return auth;
  }
}

export function findEndpoint(connector: Connector, name: string): Endpoint | undefined {
  return connector.endpoints.find((e) => e.name === name);
}

/** The named endpoint; else not_found with the nearest name and `where` (how to list them). */
export function requireEndpoint(connector: Connector, name: string, where: string): Endpoint {
  const endpoint = findEndpoint(connector, name);
  if (endpoint) return endpoint;
  throw unknownName(
    `${connector.name} has no endpoint "${name}"`,
    name,
    connector.endpoints.map((e) => e.name),
    where,
  );
}

export function findHost(connector: Connector, key: string): Host | undefined {
  return connector.hosts.find((h) => h.key === key);
}

/** The base URL requests go to: the host's environment override when set, else its URL. */
export function effectiveHostUrl(host: Host, env: Readonly<Record<string, string | undefined>>): string {
  return env[host.env] || host.url;
}

/**
 * The origin (scheme, host, port) requests to a host go to, with its environment override: where
 * the credential may go, what the raw proxy keeps a request and its links to, and where
 * redirects and page links may lead (engine/follow.ts). One rule for all of them.
 */
export function hostOrigin(host: Host, env: Readonly<Record<string, string | undefined>>): string {
  return new URL(effectiveHostUrl(host, env)).origin;
}

/** The origins of all of a connector's hosts. */
export function connectorOrigins(
  connector: Connector,
  env: Readonly<Record<string, string | undefined>>,
): Set<string> {
  return new Set(connector.hosts.map((h) => hostOrigin(h, env)));
}
