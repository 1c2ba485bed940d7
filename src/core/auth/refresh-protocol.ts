import type { Connector } from '../connector/model.js';
import type { ConnectrError } from '../errors.js';
import type { HttpOptions } from '../http/request.js';
import { oauthEndpoints } from '../oauth/endpoints.js';
import { OAuthError, requestToken } from '../oauth/token-endpoint.js';
import type { OAuthClient, TokenSet } from '../oauth/token-endpoint.js';
import type { Env } from '../paths.js';
import { oauth2Of, splitScopes } from './oauth2.js';

/**
 * The one refresh algorithm, whoever keeps the tokens. Concurrent refreshes of one credential
 * cause exactly one token request: the caller takes the credential's lock (a lock file in the
 * CLI: refresh.ts; the credential's row in the daemon's database), reads the tokens again once it
 * holds it, since another process may have refreshed them meanwhile (as rclone and Nango do), and
 * asks the provider only when what it reads is still expiring, or still the token the API
 * refused. A holder that lost its lock sends nothing.
 */

/** Refresh this long before the provider's expiry, so a token never expires in flight. */
export const REFRESH_MARGIN_MS = 60_000;

/**
 * A token the API refuses within this long of being obtained (signed in or refreshed) is not
 * refreshed again: an API that refuses every token would otherwise cost one grant, with the
 * client secret, per call. Applies where the store knows when a grant gave its token.
 */
export const REFRESH_WINDOW_MS = 30_000;

/** How a new access token is obtained: with the refresh token, or the client credentials grant again. */
export type RenewGrant = 'refresh_token' | 'client_credentials';

/** A credential's tokens as the refresh sees them, whichever store keeps them. */
export interface HeldTokens {
  readonly accessToken: string | undefined;
  readonly refreshToken: string | undefined;
  readonly tokenType?: string | undefined;
  readonly idToken?: string | undefined;
  readonly scopes: readonly string[];
  /** When the access token expires (epoch ms); undefined when the provider gave no lifetime. */
  readonly expiresAt: number | undefined;
  readonly grant: RenewGrant;
  /**
   * When a grant (sign-in or refresh) gave the stored access token, when the store can tell;
   * undefined: unknown, or replaced since by hand, and no refresh window applies.
   */
  readonly obtainedAt?: number | undefined;
}

/** The tokens a refresh obtained, the rotation rule applied: what the store writes. */
export interface RefreshedTokens {
  readonly accessToken: string;
  readonly tokenType: string;
  /** The provider's new refresh token, else the one sent (providers that do not rotate send none). */
  readonly refreshToken: string | undefined;
  readonly idToken: string | undefined;
  /** The scopes granted: the provider's answer, else those held before. */
  readonly scopes: readonly string[];
  readonly expiresAt: number | undefined;
  /** When the token was obtained (epoch ms). */
  readonly obtainedAt: number;
}

/** What the refresh can do while it holds a credential's lock. */
export interface HeldCredential {
  /** The tokens as stored now. */
  read(): Promise<HeldTokens>;
  write(tokens: RefreshedTokens): Promise<void>;
  /** The lock may have been taken over (a file lock whose holder was paused); a row lock is never lost. */
  lost(): boolean;
  /** Records, under the lock, that the provider refused the grant (the daemon's needs_reauth status). */
  refused?(error: OAuthError): Promise<void>;
}

/** Returned by the work under the lock when the lock was lost before anything was sent: take it again. */
export const LOCK_LOST: unique symbol = Symbol('lock lost');
export type LockLost = typeof LOCK_LOST;

/**
 * Where a credential's tokens are kept, with their lock, and the words each front-end says its
 * failures in (a command to run in the CLI, an API call in the daemon).
 */
export interface RefreshLock {
  /**
   * Runs `work` holding the credential's lock. Work that answers LOCK_LOST started nothing:
   * the lock implementation takes the lock again and runs it anew, or gives up with an error.
   */
  run<R>(work: (held: HeldCredential) => Promise<R | LockLost>): Promise<R>;
  /** Nothing to renew the access token with: no refresh token, no client credentials grant. */
  noRefreshToken(): ConnectrError;
  /** The provider refused the grant (invalid_grant): only a new sign-in helps. */
  signInRefused(error: OAuthError): ConnectrError;
  /**
   * The API refused a token obtained `ageMs` ago, within REFRESH_WINDOW_MS. A store that says
   * when its tokens were obtained (HeldTokens.obtainedAt) has the window and words this.
   */
  freshTokenRefused?(ageMs: number): ConnectrError;
}

/**
 * What happened to a refresh that asked the provider, for those who watch: the daemon's metrics
 * today, the webhooks on connection events next. `needsSignIn`: the credential is unusable until
 * someone signs in again (the provider said invalid_grant).
 */
export type RefreshEvent =
  | { readonly type: 'refreshed'; readonly grant: RenewGrant }
  | {
      readonly type: 'refresh_failed';
      readonly grant: RenewGrant;
      /** "invalid_grant", another OAuth error code, "network" or "internal". */
      readonly failure: string;
      readonly needsSignIn: boolean;
    };

export type RefreshListener = (event: RefreshEvent) => void;

export interface RefreshRequest {
  readonly connector: Connector;
  /** The token the API just refused (a forced refresh after a 401); undefined: the refresh is for expiry. */
  readonly rejected: string | undefined;
  /** The OAuth app; resolved only once a token request is due. */
  readonly client: () => Promise<OAuthClient>;
  /** For the token URL's override (oauth/endpoints.ts). */
  readonly env: Env;
  readonly http: HttpOptions;
  readonly now: () => number;
  readonly onEvent?: RefreshListener | undefined;
  /**
   * A refresh ahead of need (the daemon's health task), for expiry only: also due when the token
   * expires before `expiringBefore`, or was obtained before `obtainedBefore` (epoch ms; an
   * unknown obtainedAt counts as before). Decided under the lock like any refresh, so instances
   * running it together still refresh once.
   */
  readonly ahead?: { readonly expiringBefore: number; readonly obtainedBefore: number } | undefined;
}

/** Whether a token expiring at `expiresAt` (epoch ms, undefined: never said) is due for a refresh. */
export function expiresSoon(expiresAt: number | undefined, now: number): boolean {
  return expiresAt !== undefined && expiresAt - now <= REFRESH_MARGIN_MS;
}

/** Whether held tokens can get a new access token without a person: a refresh token, or client credentials. */
export function renewable(tokens: Pick<HeldTokens, 'refreshToken' | 'grant'>): boolean {
  return tokens.grant === 'client_credentials' || tokens.refreshToken !== undefined;
}

/**
 * The refresh: under the lock, the tokens read again decide. A token that no longer expires
 * soon, or is no longer the one the API refused, is used as it is; else one token request,
 * and its answer is written before the lock is released.
 */
export async function refreshTokens(lock: RefreshLock, request: RefreshRequest): Promise<HeldTokens> {
  const outcome = await lock.run((held) => refreshHeld(held, lock, request));
  if ('refused' in outcome) throw lock.signInRefused(outcome.refused);
  return outcome.tokens;
}

type Outcome = { readonly tokens: HeldTokens } | { readonly refused: OAuthError };

async function refreshHeld(
  held: HeldCredential,
  lock: RefreshLock,
  request: RefreshRequest,
): Promise<Outcome | LockLost> {
  const { connector, rejected, now } = request;
  const tokens = await held.read();
  const stillGood =
    rejected === undefined
      ? !expiresSoon(tokens.expiresAt, now()) && !dueAhead(tokens, request.ahead)
      : tokens.accessToken !== rejected;
  if (stillGood && tokens.accessToken) return { tokens };
  if (rejected !== undefined && tokens.obtainedAt !== undefined && lock.freshTokenRefused) {
    const age = now() - tokens.obtainedAt;
    if (age < REFRESH_WINDOW_MS) throw lock.freshTokenRefused(age);
  }
  if (!renewable(tokens)) throw lock.noRefreshToken();
  const auth = oauth2Of(connector);
  const grant: Record<string, string | undefined> =
    tokens.grant === 'client_credentials'
      ? {
          grant_type: 'client_credentials',
          scope: tokens.scopes.length ? tokens.scopes.join(auth.scope_separator) : undefined,
        }
      : { grant_type: 'refresh_token', refresh_token: tokens.refreshToken };
  const client = await request.client();
  // The last moment to notice a lost lock: a refresh token must never be sent twice.
  if (held.lost()) return LOCK_LOST;
  const emit = (event: RefreshEvent): void => request.onEvent?.(event);
  let answer: TokenSet;
  try {
    answer = await requestToken(
      oauthEndpoints(connector.name, auth, request.env).token,
      auth,
      client,
      grant,
      request.http,
    );
  } catch (error) {
    const invalidGrant = error instanceof OAuthError && error.error === 'invalid_grant';
    emit({
      type: 'refresh_failed',
      grant: tokens.grant,
      failure: error instanceof OAuthError ? error.error : 'network',
      needsSignIn: invalidGrant,
    });
    if (!invalidGrant) throw error;
    // Recorded under the lock, so every later use sees it; thrown once the lock is released.
    await held.refused?.(error);
    return { refused: error };
  }
  try {
    if (held.lost()) {
      // Paused during the request: another process may have stored newer tokens meanwhile.
      // Never write over them; theirs are what the provider and every other process now expect.
      const stored = await held.read();
      if (stored.accessToken !== tokens.accessToken || stored.refreshToken !== tokens.refreshToken) {
        emit({ type: 'refreshed', grant: tokens.grant });
        return { tokens: stored };
      }
    }
    const next = renewed(tokens, answer, request);
    await held.write(next);
    emit({ type: 'refreshed', grant: tokens.grant });
    return { tokens: { ...next, grant: tokens.grant } };
  } catch (error) {
    emit({ type: 'refresh_failed', grant: tokens.grant, failure: 'internal', needsSignIn: false });
    throw error;
  }
}

function dueAhead(tokens: HeldTokens, ahead: RefreshRequest['ahead']): boolean {
  if (!ahead) return false;
  if (tokens.expiresAt !== undefined && tokens.expiresAt < ahead.expiringBefore) return true;
  return (tokens.obtainedAt ?? -Infinity) < ahead.obtainedBefore;
}

/** The tokens after a refresh: the provider's answer over what was held. */
function renewed(held: HeldTokens, answer: TokenSet, request: RefreshRequest): RefreshedTokens {
  const at = request.now();
  return {
    accessToken: answer.access_token,
    tokenType: answer.token_type,
    // Providers that do not rotate refresh tokens send none: keep the one we have.
    refreshToken: answer.refresh_token || held.refreshToken,
    idToken: answer.id_token || held.idToken,
    scopes:
      answer.scope === undefined ? [...held.scopes] : splitScopes(answer.scope, oauth2Of(request.connector)),
    expiresAt: answer.expires_in ? at + answer.expires_in * 1000 : undefined,
    obtainedAt: at,
  };
}
