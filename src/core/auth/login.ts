import type { Connector } from '../connector/model.js';
import type { AccountRecord, Grant } from '../credentials/metadata.js';
import { accountService } from '../credentials/secret-store.js';
import type { SecretStore } from '../credentials/secret-store.js';
import { ConnectrError, messageOf } from '../errors.js';
import { authorizationUrl } from '../oauth/authorize-url.js';
import { requestDeviceCode, pollDeviceToken } from '../oauth/device.js';
import { oauthEndpoints } from '../oauth/endpoints.js';
import type { OAuth2Auth } from '../oauth/endpoints.js';
import { parseCallback, startLoopback } from '../oauth/loopback.js';
import { createPkce, randomToken } from '../oauth/pkce.js';
import { requestToken } from '../oauth/token-endpoint.js';
import type { OAuthClient, TokenSet } from '../oauth/token-endpoint.js';
import { checkOverrides, currentBinding } from './binding.js';
import type { AuthDeps } from './deps.js';
import { discoverIdentity } from './identity.js';
import { writeAccountSecret } from './secret.js';
import type { AccountSecret } from './secret.js';

/**
 * Signing in: the browser flow (authorization code + PKCE + state through a loopback
 * redirect, RFC 8252), the device flow (RFC 8628), the client credentials grant, and stored
 * API keys or passwords. Each ends in `saveLogin`: identity, secret to the vault, metadata.
 */

export interface LoginResult {
  readonly record: AccountRecord;
  readonly store: SecretStore;
  /** Why the secret is not in the keychain, when it is not. */
  readonly notice?: string | undefined;
}

export interface BrowserLoginOptions {
  readonly account: string;
  readonly scopes: readonly string[];
  readonly port?: number | undefined;
  readonly timeoutMs: number;
  readonly insecureStorage: boolean;
  /** Opens the URL in the user's browser; undefined with --no-browser. */
  readonly openUrl?: ((url: string) => Promise<void>) | undefined;
  /** With --no-browser: the redirect address the user pastes back. */
  readonly pastedUrl?: ((signal: AbortSignal) => Promise<string>) | undefined;
  readonly signal: AbortSignal;
}

export function oauth2Of(connector: Connector): OAuth2Auth {
  if (connector.auth.type !== 'oauth2') {
    throw new ConnectrError(
      'invalid_input',
      `${connector.name} does not use OAuth 2.0 (its auth is ${connector.auth.type})`,
    );
  }
  return connector.auth;
}

export async function loginWithBrowser(
  connector: Connector,
  client: OAuthClient,
  options: BrowserLoginOptions,
  deps: AuthDeps,
): Promise<LoginResult> {
  const auth = oauth2Of(connector);
  checkOverrides(connector, deps.env);
  const endpoints = oauthEndpoints(connector.name, auth, deps.env);
  if (!endpoints.authorization || !auth.grants.includes('authorization_code')) {
    throw new ConnectrError('invalid_input', `${connector.displayName} does not offer browser sign-in`, {
      hint: auth.grants.includes('device_code') ? 'use --device' : undefined,
    });
  }
  const state = randomToken();
  const pkce = auth.pkce ? createPkce() : undefined;
  const redirect = auth.redirect ?? { host: '127.0.0.1' as const, path: '/callback' };
  const server = await startLoopback({
    host: redirect.host,
    port: options.port ?? redirect.port,
    path: redirect.path,
    state,
    displayName: connector.displayName,
  });
  const local = new AbortController();
  const abort = (): void => {
    local.abort(options.signal.reason);
  };
  options.signal.addEventListener('abort', abort, { once: true });
  try {
    const url = authorizationUrl(endpoints.authorization, auth, {
      clientId: client.clientId,
      redirectUri: server.redirectUri,
      scopes: options.scopes,
      state,
      codeChallenge: pkce?.challenge,
    });
    const waiting: Promise<string>[] = [
      server.code,
      timeoutAfter(options.timeoutMs, local.signal),
      aborted(local.signal),
    ];
    if (options.openUrl) {
      deps.notify(
        `Opening your browser to sign in to ${connector.displayName}. If it does not open, visit:\n\n  ${url}\n`,
      );
      options.openUrl(url).catch((error: unknown) => {
        deps.notify(`Could not open a browser (${messageOf(error)}); open the address above yourself.`);
      });
    } else {
      deps.notify(
        `Open this address in a browser to sign in to ${connector.displayName}:\n\n  ${url}\n\n` +
          `After you approve, the browser is sent to ${server.redirectUri}?... ` +
          'If that page does not load (for example over SSH), copy its full address from the address bar and paste it here.',
      );
    }
    if (options.pastedUrl) {
      waiting.push(
        options.pastedUrl(local.signal).then((pasted) => {
          let parsed: URL;
          try {
            parsed = new URL(pasted.trim());
          } catch {
            throw new ConnectrError('invalid_input', 'the pasted text is not an address', {
              hint: `paste the whole address the browser shows, starting with ${server.redirectUri}`,
            });
          }
          return parseCallback(parsed, redirect.path, state);
        }),
      );
    }
    const code = await Promise.race(waiting);
    deps.notify('Sign-in approved; fetching tokens...');
    const tokens = await requestToken(
      endpoints.token,
      auth,
      client,
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: server.redirectUri,
        code_verifier: pkce?.verifier,
      },
      { ...deps.http, signal: options.signal },
    );
    return await saveLogin(connector, options.account, 'authorization_code', tokens, client, options, deps);
  } finally {
    local.abort();
    options.signal.removeEventListener('abort', abort);
    await server.close();
  }
}

export async function loginWithDevice(
  connector: Connector,
  client: OAuthClient,
  options: Omit<BrowserLoginOptions, 'port' | 'timeoutMs' | 'pastedUrl'>,
  deps: AuthDeps,
): Promise<LoginResult> {
  const auth = oauth2Of(connector);
  checkOverrides(connector, deps.env);
  const endpoints = oauthEndpoints(connector.name, auth, deps.env);
  if (!endpoints.deviceAuthorization || !auth.grants.includes('device_code')) {
    throw new ConnectrError('invalid_input', `${connector.displayName} does not offer device sign-in`, {
      hint: 'use the browser sign-in (with --no-browser on a machine without one)',
    });
  }
  const http = { ...deps.http, signal: options.signal };
  const device = await requestDeviceCode(endpoints.deviceAuthorization, auth, client, options.scopes, http);
  const minutes = Math.max(1, Math.round(device.expires_in / 60));
  deps.notify(
    `To sign in to ${connector.displayName}, open ${device.verification_uri} and enter the code ${device.user_code} (valid ${minutes} min).`,
  );
  if (options.openUrl) {
    options.openUrl(device.verification_uri_complete ?? device.verification_uri).catch(() => undefined);
  }
  const tokens = await pollDeviceToken(endpoints.token, auth, client, device, deps.clock, http);
  return saveLogin(connector, options.account, 'device_code', tokens, client, options, deps);
}

export async function loginWithClientCredentials(
  connector: Connector,
  client: OAuthClient,
  options: { account: string; scopes: readonly string[]; insecureStorage: boolean; signal: AbortSignal },
  deps: AuthDeps,
): Promise<LoginResult> {
  const auth = oauth2Of(connector);
  checkOverrides(connector, deps.env);
  const endpoints = oauthEndpoints(connector.name, auth, deps.env);
  const tokens = await requestToken(
    endpoints.token,
    auth,
    client,
    {
      grant_type: 'client_credentials',
      scope: options.scopes.length ? options.scopes.join(auth.scope_separator) : undefined,
    },
    { ...deps.http, signal: options.signal },
  );
  return saveLogin(connector, options.account, 'client_credentials', tokens, client, options, deps);
}

/** Stores an API key or a user name and password for an `api_key` or `basic` connector. */
export async function saveStaticCredentials(
  connector: Connector,
  account: string,
  secret: { api_key: string } | { username: string; password: string },
  insecureStorage: boolean,
  deps: AuthDeps,
): Promise<LoginResult> {
  checkOverrides(connector, deps.env);
  const credential =
    'api_key' in secret
      ? ({ kind: 'api_key', key: secret.api_key } as const)
      : ({ kind: 'basic', username: secret.username, password: secret.password } as const);
  const identity =
    'username' in secret ? secret.username : await discoverIdentity(connector, credential, undefined, deps);
  const authType = connector.auth.type === 'basic' ? 'basic' : 'api_key';
  return store(
    connector,
    account,
    secret,
    { auth_type: authType, scopes: [], ...(identity ? { identity } : {}) },
    insecureStorage,
    deps,
  );
}

async function saveLogin(
  connector: Connector,
  account: string,
  grant: Grant,
  tokens: TokenSet,
  client: OAuthClient,
  options: { scopes: readonly string[]; insecureStorage: boolean },
  deps: AuthDeps,
): Promise<LoginResult> {
  const auth = oauth2Of(connector);
  const identity = await discoverIdentity(
    connector,
    { kind: 'bearer', token: tokens.access_token },
    tokens.id_token,
    deps,
  );
  const secret: AccountSecret = {
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    ...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}),
    ...(tokens.id_token ? { id_token: tokens.id_token } : {}),
  };
  return store(
    connector,
    account,
    secret,
    {
      auth_type: 'oauth2',
      grant,
      client_id: client.clientId,
      scopes: grantedScopes(tokens.scope, options.scopes, auth.scope_separator),
      ...(tokens.expires_in
        ? { expires_at: new Date(deps.clock.now() + tokens.expires_in * 1000).toISOString() }
        : {}),
      ...(identity ? { identity } : {}),
    },
    options.insecureStorage,
    deps,
  );
}

async function store(
  connector: Connector,
  account: string,
  secret: AccountSecret,
  facts: Omit<AccountRecord, 'connector' | 'account' | 'store' | 'created_at'>,
  insecureStorage: boolean,
  deps: AuthDeps,
): Promise<LoginResult> {
  const { store: target, notice } = await deps.vault.forNewSecrets(insecureStorage);
  const previous = await deps.metadata.find(connector.name, account);
  await writeAccountSecret(target, connector.name, account, secret);
  // A login that moves an account to another store must not leave its old secret behind.
  if (previous && previous.store !== target.kind) {
    await deps.vault
      .store(previous.store)
      .delete(accountService(connector.name), account)
      .catch(() => false);
  }
  const now = new Date(deps.clock.now()).toISOString();
  const record: AccountRecord = {
    connector: connector.name,
    account,
    ...facts,
    store: target.kind,
    // Where this credential may go from now on: the definition as it is now.
    binding: currentBinding(connector, deps.env),
    created_at: previous?.created_at ?? now,
    last_refreshed_at: now,
  };
  await deps.metadata.upsert(record);
  if (!(await deps.metadata.defaults())[connector.name])
    await deps.metadata.setDefault(connector.name, account);
  return { record, store: target, notice };
}

/** The scopes granted: the token response's `scope` when present (RFC 6749 §5.1), else those asked for. */
function grantedScopes(scope: string | undefined, requested: readonly string[], separator: string): string[] {
  if (scope === undefined) return [...requested];
  return splitScopes(scope, separator);
}

/** A `scope` value split by the connector's `scope_separator` (blank: any whitespace). */
export function splitScopes(scope: string, separator: string): string[] {
  return scope
    .split(separator.trim() === '' ? /\s+/ : separator)
    .map((s) => s.trim())
    .filter(Boolean);
}

function timeoutAfter(ms: number, signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => {
      reject(
        new ConnectrError('timeout', `no sign-in response within ${formatDuration(ms)}`, {
          hint: 'run the login again; pass --timeout to wait longer, or --no-browser/--device when the browser cannot reach this machine',
        }),
      );
    }, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
    });
  });
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => {
      reject(
        signal.reason instanceof Error ? signal.reason : new ConnectrError('cancelled', 'login cancelled'),
      );
    });
  });
}

export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
