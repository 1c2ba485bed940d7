import { join } from 'node:path';
import { envSegment } from '../connector/model.js';
import type { Connector } from '../connector/model.js';
import type { AccountRecord } from '../credentials/metadata.js';
import { ConnectrError } from '../errors.js';
import { withLock } from '../fs/lock.js';
import type { LockLease } from '../fs/lock.js';
import { oauthEndpoints } from '../oauth/endpoints.js';
import { OAuthError, requestToken } from '../oauth/token-endpoint.js';
import { checkBinding, checkOverrides } from './binding.js';
import { resolveClient } from './client.js';
import type { Credential } from './credential.js';
import type { AuthDeps } from './deps.js';
import { oauth2Of, splitScopes } from './login.js';
import { readAccountSecret, writeAccountSecret } from './secret.js';
import type { AccountSecret } from './secret.js';

/**
 * A valid credential for every request. Access tokens are refreshed shortly before they expire;
 * concurrent refreshes of one account cause exactly one token request: one promise per account
 * inside a process, a lock file across processes, and a re-read of the stored token after the
 * lock is taken, since another process may have refreshed it meanwhile (as rclone and Nango do).
 */

/** Refresh this long before the provider's expiry, so a token never expires in flight. */
export const REFRESH_MARGIN_MS = 60_000;

export interface ResolvedCredential {
  readonly credential: Credential;
  /** The account used; absent when the credential came from the environment. */
  readonly account?: AccountRecord;
  readonly source: 'environment' | 'store' | 'none';
  /** The environment variable the credential came from. */
  readonly variable?: string;
}

/** CONNECTR_<NAME>_TOKEN: a token for automation that takes precedence over stored accounts. */
export function tokenEnvName(connector: string): string {
  return `CONNECTR_${envSegment(connector)}_TOKEN`;
}

const inflight = new Map<string, Promise<AccountSecret>>();

export async function getCredential(
  connector: Connector,
  accountName: string | undefined,
  deps: AuthDeps,
  options: { forceRefresh?: boolean } = {},
): Promise<ResolvedCredential> {
  if (connector.auth.type === 'none') return { credential: { kind: 'none' }, source: 'none' };
  checkOverrides(connector, deps.env);
  const fromEnv = credentialFromEnv(connector, deps);
  if (fromEnv && accountName === undefined) return fromEnv;

  const record = await findAccount(connector, accountName, deps);
  // Before the secret is even read: a definition that sends it elsewhere gets nothing.
  await checkBinding(connector, record, deps);
  const store = deps.vault.store(record.store);
  const secret = await readAccountSecret(store, connector.name, record.account);
  if (!secret) {
    throw new ConnectrError(
      'auth_required',
      `the secret of ${connector.name} account "${record.account}" is missing from the ${store.location}`,
      {
        hint: `sign in again: connectr auth ${connector.name} --account ${record.account}`,
      },
    );
  }
  await touch(record, deps);
  switch (record.auth_type) {
    case 'api_key':
      return { credential: { kind: 'api_key', key: secret.api_key ?? '' }, account: record, source: 'store' };
    case 'basic':
      return {
        credential: { kind: 'basic', username: secret.username ?? '', password: secret.password ?? '' },
        account: record,
        source: 'store',
      };
    case 'oauth2': {
      let current = secret;
      if (options.forceRefresh || expiresSoon(record, deps.clock.now())) {
        current = await refreshOnce(
          connector,
          record,
          options.forceRefresh ? secret.access_token : undefined,
          deps,
        );
      }
      const updated = (await deps.metadata.find(connector.name, record.account)) ?? record;
      return {
        credential: { kind: 'bearer', token: current.access_token ?? '' },
        account: updated,
        source: 'store',
      };
    }
  }
}

export function credentialFromEnv(connector: Connector, deps: AuthDeps): ResolvedCredential | undefined {
  const variable = tokenEnvName(connector.name);
  const token = deps.env[variable];
  const auth = connector.auth;
  if (token) {
    if (auth.type === 'basic') {
      const [username = '', ...rest] = token.split(':');
      return {
        credential: { kind: 'basic', username, password: rest.join(':') },
        source: 'environment',
        variable,
      };
    }
    return {
      credential: auth.type === 'api_key' ? { kind: 'api_key', key: token } : { kind: 'bearer', token },
      source: 'environment',
      variable,
    };
  }
  if (auth.type === 'api_key' && deps.env[auth.env]) {
    return {
      credential: { kind: 'api_key', key: deps.env[auth.env] ?? '' },
      source: 'environment',
      variable: auth.env,
    };
  }
  if (auth.type === 'basic' && deps.env[auth.username_env] && deps.env[auth.password_env]) {
    return {
      credential: {
        kind: 'basic',
        username: deps.env[auth.username_env] ?? '',
        password: deps.env[auth.password_env] ?? '',
      },
      source: 'environment',
      variable: auth.password_env,
    };
  }
  return undefined;
}

/** The named account, else the connector's default one; an error that says how to sign in. */
export async function findAccount(
  connector: Connector,
  accountName: string | undefined,
  deps: AuthDeps,
): Promise<AccountRecord> {
  const name = accountName ?? (await deps.metadata.defaultAccount(connector.name));
  const record = name === undefined ? undefined : await deps.metadata.find(connector.name, name);
  if (record) return record;
  const accounts = await deps.metadata.accounts(connector.name);
  if (accountName !== undefined) {
    throw new ConnectrError('auth_required', `no ${connector.name} account named "${accountName}"`, {
      hint: accounts.length
        ? `known: ${accounts.map((a) => a.account).join(', ')}; or sign in with \`connectr auth ${connector.name} --account ${accountName}\``
        : `sign in with \`connectr auth ${connector.name} --account ${accountName}\``,
    });
  }
  if (accounts.length > 1) {
    throw new ConnectrError(
      'auth_required',
      `${connector.name} has several accounts and none is the default`,
      {
        hint: `pass --account (${accounts.map((a) => a.account).join(', ')}) or run \`connectr accounts default ${connector.name} <account>\``,
      },
    );
  }
  throw new ConnectrError('auth_required', `not signed in to ${connector.displayName}`, {
    hint: `run \`connectr auth ${connector.name}\` (or set ${automationVariables(connector)} for automation)`,
  });
}

/** The environment variables that supply this connector's credential without signing in. */
function automationVariables(connector: Connector): string {
  const auth = connector.auth;
  if (auth.type === 'api_key') return auth.env;
  if (auth.type === 'basic') return `${auth.username_env} and ${auth.password_env}`;
  return tokenEnvName(connector.name);
}

function expiresSoon(record: AccountRecord, now: number): boolean {
  if (!record.expires_at) return false;
  return Date.parse(record.expires_at) - now <= REFRESH_MARGIN_MS;
}

/** last_used_at, written at most once a minute so busy scripts do not contend for the file. */
async function touch(record: AccountRecord, deps: AuthDeps): Promise<void> {
  const now = deps.clock.now();
  if (record.last_used_at && now - Date.parse(record.last_used_at) < 60_000) return;
  await deps.metadata.patch(record.connector, record.account, (r) => {
    r.last_used_at = new Date(now).toISOString();
  });
}

/**
 * `rejectedToken` is the token the API just refused (a forced refresh after a 401); without it
 * the refresh is for expiry. One refresh per home and account inside a process.
 */
function refreshOnce(
  connector: Connector,
  record: AccountRecord,
  rejectedToken: string | undefined,
  deps: AuthDeps,
): Promise<AccountSecret> {
  // Keyed by the data folder too: one process may serve several homes (tests, the server).
  const key = `${deps.paths.dataDir}\u0000${connector.name}\u0000${record.account}`;
  let running = inflight.get(key);
  if (!running) {
    running = refreshAcrossProcesses(connector, record.account, rejectedToken, deps).finally(() =>
      inflight.delete(key),
    );
    inflight.set(key, running);
  }
  return running;
}

/** How often a refresh starts over after losing its lock to another process before giving up. */
const MAX_LOCK_TAKEOVERS = 3;

async function refreshAcrossProcesses(
  connector: Connector,
  account: string,
  rejectedToken: string | undefined,
  deps: AuthDeps,
): Promise<AccountSecret> {
  // CONNECTR_LOCK_STALE_MS: for tests that pause a holder; the default suits real use.
  const staleMs = Number(deps.env.CONNECTR_LOCK_STALE_MS) || undefined;
  for (let attempt = 1; ; attempt++) {
    const outcome = await withLock(
      join(deps.paths.dataDir, 'locks'),
      `refresh-${connector.name}-${account}`,
      (lease) => refreshLocked(connector, account, rejectedToken, deps, lease),
      staleMs === undefined ? {} : { staleMs },
    );
    if (outcome) return outcome;
    if (attempt >= MAX_LOCK_TAKEOVERS) {
      throw new ConnectrError(
        'unavailable',
        `the refresh of ${connector.name} account "${account}" lost its lock to another connectr process ${attempt} times`,
        { hint: 'this process was paused or too slow; run the command again' },
      );
    }
  }
}

/**
 * The refresh itself, under the lock. Undefined when the lock was lost before anything was sent
 * (this process was paused past the lock's stale time and another may have refreshed): the
 * caller takes the lock again and starts over from what is stored then.
 */
async function refreshLocked(
  connector: Connector,
  account: string,
  rejectedToken: string | undefined,
  deps: AuthDeps,
  lease: LockLease,
): Promise<AccountSecret | undefined> {
  // Another process may have refreshed while we waited for the lock: read again. Under the lock
  // the secret and its metadata are consistent (a refresher writes both before releasing it).
  const record = await deps.metadata.find(connector.name, account);
  if (!record)
    throw new ConnectrError('auth_required', `${connector.name} account "${account}" was signed out`);
  const store = deps.vault.store(record.store);
  const secret = (await readAccountSecret(store, connector.name, account)) ?? {};
  const stillGood =
    rejectedToken === undefined
      ? !expiresSoon(record, deps.clock.now())
      : secret.access_token !== rejectedToken;
  if (stillGood && secret.access_token) return secret;

  const auth = oauth2Of(connector);
  const reLogin = `connectr auth ${connector.name} --account ${account}`;
  const grant: Record<string, string | undefined> =
    record.grant === 'client_credentials'
      ? {
          grant_type: 'client_credentials',
          scope: record.scopes.length ? record.scopes.join(auth.scope_separator) : undefined,
        }
      : { grant_type: 'refresh_token', refresh_token: secret.refresh_token };
  if (grant.grant_type === 'refresh_token' && !secret.refresh_token) {
    throw new ConnectrError(
      'auth_expired',
      `the access token of ${connector.name} account "${account}" expired and there is no refresh token`,
      {
        hint: `sign in again: ${reLogin}`,
      },
    );
  }
  const client = await resolveClient(connector, auth, deps);
  // The last moment to notice a lost lock: a refresh token must never be sent twice.
  if (lease.lost()) return undefined;
  let tokens;
  try {
    tokens = await requestToken(
      oauthEndpoints(connector.name, auth, deps.env).token,
      auth,
      client,
      grant,
      deps.http,
    );
  } catch (error) {
    if (error instanceof OAuthError && error.error === 'invalid_grant') {
      throw new ConnectrError(
        'auth_expired',
        `the sign-in of ${connector.name} account "${account}" is no longer valid (invalid_grant${error.description ? `: ${error.description}` : ''})`,
        { hint: `sign in again: ${reLogin}` },
      );
    }
    throw error;
  }
  if (lease.lost()) {
    // Paused during the request: another process may have stored newer tokens meanwhile.
    // Never write over them; theirs are what the provider and every other process now expect.
    const stored = (await readAccountSecret(store, connector.name, account)) ?? {};
    if (stored.access_token !== secret.access_token || stored.refresh_token !== secret.refresh_token) {
      return stored;
    }
  }
  const next: AccountSecret = {
    ...secret,
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    // Providers that do not rotate refresh tokens send none: keep the one we have.
    ...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}),
    ...(tokens.id_token ? { id_token: tokens.id_token } : {}),
  };
  await writeAccountSecret(store, connector.name, account, next);
  const now = deps.clock.now();
  await deps.metadata.patch(connector.name, account, (r) => {
    r.last_refreshed_at = new Date(now).toISOString();
    if (tokens.expires_in) r.expires_at = new Date(now + tokens.expires_in * 1000).toISOString();
    else delete r.expires_at;
    if (tokens.scope !== undefined) r.scopes = splitScopes(tokens.scope, auth.scope_separator);
  });
  return next;
}
