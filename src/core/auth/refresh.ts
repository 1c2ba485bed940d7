import { join } from 'node:path';
import type { Connector } from '../connector/model.js';
import type { AccountRecord } from '../credentials/metadata.js';
import { ConnectrError } from '../errors.js';
import { withLock } from '../fs/lock.js';
import type { LockLease } from '../fs/lock.js';
import { oauthEndpoints } from '../oauth/endpoints.js';
import { OAuthError, requestToken } from '../oauth/token-endpoint.js';
import { resolveClient } from './client.js';
import type { AuthDeps } from './deps.js';
import { oauth2Of, splitScopes } from './oauth2.js';
import { readAccountSecret, writeAccountSecret } from './secret.js';
import type { AccountSecret } from './secret.js';

/**
 * The refresh protocol: concurrent refreshes of one account cause exactly one token request:
 * one promise per data folder and account inside a process, a lock file across processes, and a
 * re-read of the stored token after the lock is taken, since another process may have refreshed
 * it meanwhile (as rclone and Nango do). A holder that loses its lock sends nothing.
 */

/** Refresh this long before the provider's expiry, so a token never expires in flight. */
export const REFRESH_MARGIN_MS = 60_000;

const inflight = new Map<string, Promise<AccountSecret>>();

export function expiresSoon(record: AccountRecord, now: number): boolean {
  if (!record.expires_at) return false;
  return Date.parse(record.expires_at) - now <= REFRESH_MARGIN_MS;
}

/**
 * `rejectedToken` is the token the API just refused (a forced refresh after a 401); without it
 * the refresh is for expiry. One refresh per home and account inside a process.
 */
export function refreshOnce(
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
  const staleMs = deps.settings.CONNECTR_LOCK_STALE_MS;
  for (let attempt = 1; ; attempt++) {
    const outcome = await withLock(
      join(deps.paths.dataDir, 'locks'),
      `refresh-${connector.name}-${account}`,
      (lease) => refreshLocked(connector, account, rejectedToken, deps, lease),
      { staleMs },
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
    if (tokens.scope !== undefined) r.scopes = splitScopes(tokens.scope, auth);
  });
  return next;
}
