import { join } from 'node:path';
import type { Connector } from '../connector/model.js';
import type { AccountRecord } from '../credentials/metadata.js';
import { ConnectrError } from '../errors.js';
import { withLock } from '../fs/lock.js';
import { resolveClient } from './client.js';
import type { AuthDeps } from './deps.js';
import { oauth2Of } from './oauth2.js';
import { LOCK_LOST, expiresSoon, refreshTokens } from './refresh-protocol.js';
import type { HeldCredential, HeldTokens, RefreshLock } from './refresh-protocol.js';
import { readAccountSecret, writeAccountSecret } from './secret.js';
import type { AccountSecret } from './secret.js';

/**
 * The CLI's side of the refresh (refresh-protocol.ts has the algorithm): one promise per data
 * folder and account inside a process, a lock file across processes, the tokens in the account's
 * secret and its metadata.
 */

const inflight = new Map<string, Promise<HeldTokens>>();

/** Whether the account's access token is due for a refresh (within REFRESH_MARGIN_MS of its expiry). */
export function accountExpiresSoon(record: AccountRecord, now: number): boolean {
  return expiresSoon(record.expires_at ? Date.parse(record.expires_at) : undefined, now);
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
): Promise<HeldTokens> {
  // Keyed by the data folder too: one process may serve several homes (tests, the server).
  const key = `${deps.paths.dataDir}\u0000${connector.name}\u0000${record.account}`;
  let running = inflight.get(key);
  if (!running) {
    running = refreshTokens(fileLock(connector, record.account, deps), {
      connector,
      rejected: rejectedToken,
      client: () => resolveClient(connector, oauth2Of(connector), deps),
      env: deps.env,
      http: deps.http,
      now: () => deps.clock.now(),
    }).finally(() => inflight.delete(key));
    inflight.set(key, running);
  }
  return running;
}

/** How often a refresh starts over after losing its lock to another process before giving up. */
const MAX_LOCK_TAKEOVERS = 3;

/** An account's tokens under a lock file shared by every connectr process of the data folder. */
function fileLock(connector: Connector, account: string, deps: AuthDeps): RefreshLock {
  const reLogin = `connectr auth ${connector.name} --account ${account}`;
  return {
    async run(work) {
      // CONNECTR_LOCK_STALE_MS: for tests that pause a holder; the default suits real use.
      const staleMs = deps.settings.CONNECTR_LOCK_STALE_MS;
      for (let attempt = 1; ; attempt++) {
        const outcome = await withLock(
          join(deps.paths.dataDir, 'locks'),
          `refresh-${connector.name}-${account}`,
          (lease) => work(heldAccount(connector, account, deps, () => lease.lost())),
          { staleMs },
        );
        if (outcome !== LOCK_LOST) return outcome;
        if (attempt >= MAX_LOCK_TAKEOVERS) {
          throw new ConnectrError(
            'unavailable',
            `the refresh of ${connector.name} account "${account}" lost its lock to another connectr process ${attempt} times`,
            { hint: 'this process was paused or too slow; run the command again' },
          );
        }
      }
    },
    noRefreshToken: () =>
      new ConnectrError(
        'auth_expired',
        `the access token of ${connector.name} account "${account}" expired and there is no refresh token`,
        { hint: `sign in again: ${reLogin}` },
      ),
    signInRefused: (error) =>
      new ConnectrError(
        'auth_expired',
        `the sign-in of ${connector.name} account "${account}" is no longer valid (invalid_grant${error.description ? `: ${error.description}` : ''})`,
        { hint: `sign in again: ${reLogin}` },
      ),
  };
}

/**
 * The account as the refresh holding its lock sees it. Under the lock the secret and its
 * metadata are consistent (a refresher writes both before releasing it).
 */
function heldAccount(
  connector: Connector,
  account: string,
  deps: AuthDeps,
  lost: () => boolean,
): HeldCredential {
  // What read() found: write() keeps the secret's other fields and writes to the same store.
  let last: { readonly record: AccountRecord; readonly secret: AccountSecret } | undefined;
  return {
    lost,
    async read() {
      const record = await deps.metadata.find(connector.name, account);
      if (!record)
        throw new ConnectrError('auth_required', `${connector.name} account "${account}" was signed out`);
      const secret = (await readAccountSecret(deps.vault.store(record.store), connector.name, account)) ?? {};
      last = { record, secret };
      return {
        accessToken: secret.access_token,
        refreshToken: secret.refresh_token || undefined,
        tokenType: secret.token_type,
        idToken: secret.id_token,
        scopes: record.scopes,
        expiresAt: record.expires_at ? Date.parse(record.expires_at) : undefined,
        grant: record.grant === 'client_credentials' ? 'client_credentials' : 'refresh_token',
      };
    },
    async write(tokens) {
      if (!last) throw new ConnectrError('internal', 'a refresh wrote before it read');
      await writeAccountSecret(deps.vault.store(last.record.store), connector.name, account, {
        ...last.secret,
        access_token: tokens.accessToken,
        token_type: tokens.tokenType,
        ...(tokens.refreshToken ? { refresh_token: tokens.refreshToken } : {}),
        ...(tokens.idToken ? { id_token: tokens.idToken } : {}),
      });
      await deps.metadata.patch(connector.name, account, (r) => {
        r.last_refreshed_at = new Date(tokens.obtainedAt).toISOString();
        if (tokens.expiresAt !== undefined) r.expires_at = new Date(tokens.expiresAt).toISOString();
        else delete r.expires_at;
        r.scopes = [...tokens.scopes];
      });
    },
  };
}
