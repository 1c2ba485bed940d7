import type { Registry } from '../core/connector/registry.js';
import type { Env } from '../core/paths.js';
import type { OpenedServerStore } from './store/open.js';
import type { ServerSettings } from './settings.js';
import { settingsOf } from './settings.js';
import { gmailPushOidc } from './push-oidc.js';
import type { OidcConfig } from '../core/provider-events/jwt.js';
import type { RecordProviderEvent } from './services/provider-events.js';

/**
 * What the HTTP layer (app.ts, plugins, routes) needs from the rest of the server, as
 * interfaces: the store (store/) implements them over Postgres or PGlite, and the app is built
 * from them (`buildApp(deps)`), so routes never import the database layer directly.
 */

/**
 * What an API key reaches: `project`, its project's routes (connections, execute, MCP, …);
 * `metrics`, GET /metrics alone: every project's numbers for an operator's scraper, and nothing
 * of any project. A key has one scope, so a scraper's key leaks no project, and no project's key
 * sees the others' connectors in the metrics.
 */
export const API_KEY_SCOPES = ['project', 'metrics'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Who is calling: the API key found in `Authorization: Bearer <key>`. */
export interface ApiKeyIdentity {
  readonly keyId: string;
  readonly projectId: string;
  /** Created with `--allow-token`: may read access tokens (`GET /connections/{id}/token`). */
  readonly allowToken: boolean;
  readonly scope: ApiKeyScope;
}

export interface ApiKeyVerifier {
  /** The key's identity, or undefined for an unknown or revoked key. Records its last use. */
  verify(secret: string): Promise<ApiKeyIdentity | undefined>;
}

export interface Readiness {
  /** Resolves when the database answers and every migration is applied; else throws a ConnectrError('unavailable'). */
  ready(): Promise<void>;
}

/** The database and key ring, for the routes of resources (connections, OAuth, execute) to pass to store/'s repositories. */
export type ServerData = Pick<OpenedServerStore, 'db' | 'database' | 'keys' | 'caches'>;

export interface ServerDeps {
  readonly registry: () => Promise<Registry>;
  readonly apiKeys: ApiKeyVerifier;
  readonly readiness: Readiness;
  /** Always given by `connectr serve`; absent only where the HTTP layer is tested alone. */
  readonly data?: ServerData | undefined;
  /**
   * The server's environment: the fallback OAuth client ids and secrets (GMAIL_CLIENT_ID…) and
   * the connectors' URL overrides (CONNECTR_GMAIL_TOKEN_URL, _REVOCATION_URL…). Empty when absent.
   */
  readonly env?: Env | undefined;
  /** The server's settings, parsed once at start (settings.ts); else parsed from `env`. */
  readonly settings?: ServerSettings | undefined;
  /**
   * The server's clock (ms since the epoch): the refresh window, sign-ins' expiry and their
   * purge. Date.now when absent; tests move it on.
   */
  readonly now?: (() => number) | undefined;
  /**
   * Providers' pushes (/webhooks/providers): how a verified event is recorded (the outbox's
   * recordProviderEvent when absent; tests watch it), and the OIDC check of Gmail's Pub/Sub push.
   */
  readonly providerEvents?:
    { readonly record?: RecordProviderEvent | undefined; readonly oidc?: OidcConfig | undefined } | undefined;
}

/** The server's database, open: what `connectr serve` builds the app from, and closes at the end. */
export interface ServerStore {
  readonly apiKeys: ApiKeyVerifier;
  readonly readiness: Readiness;
  /** "postgres" or "pglite", for the start-up line and /ready. */
  readonly backend: 'postgres' | 'pglite';
  close(): Promise<void>;
}

/** What an opened store, the loaded connectors and the server's environment make: the app's dependencies. */
export function depsOf(
  store: ServerStore & ServerData,
  registry: Registry,
  env: Env,
  settings?: ServerSettings,
): ServerDeps & { data: ServerData } {
  return {
    registry: () => Promise.resolve(registry),
    apiKeys: store.apiKeys,
    readiness: store.readiness,
    data: store,
    // A plain copy, taken at start: requests read the environment many times each (URL
    // overrides, proxies), and a read of process.env itself is a call into the runtime (about
    // half a microsecond, even for a variable that is not set).
    env: { ...env },
    settings,
    providerEvents: { oidc: gmailPushOidc(settingsOf({ settings, env })) },
  };
}
