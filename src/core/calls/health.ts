import type { Connector } from '../connector/model.js';
import type { InvokeDeps } from '../engine/invoke.js';
import { isConnectrError } from '../errors.js';
import type { Env } from '../paths.js';
import { prepare, send } from './service.js';

/**
 * A connection's health check, the same for the daemon and `connectr accounts check`: the
 * connector's `health.endpoint` called with no params through the one call service, so the
 * credential is refreshed when it is about to expire, and once more after a 401, as for any call.
 * The outcome says only whether the credential still works: an authentication refusal means
 * someone must sign in again; a network failure or an answer such as a 5xx says nothing about
 * the credential.
 */

export type HealthOutcome =
  /** The endpoint answered 2xx: the credential works. */
  | { readonly kind: 'ok' }
  /** 401 or 403 after a refresh, or the provider refused the refresh (invalid_grant): sign in again. */
  | { readonly kind: 'signed_out'; readonly code: HealthErrorCode; readonly message: string }
  /** The check could not tell: the network, a time-out, a 5xx or another answer. */
  | { readonly kind: 'unknown'; readonly code: HealthErrorCode; readonly message: string };

/** The codes a failed check is recorded with (the daemon's last_error.code, the CLI's --json). */
export type HealthErrorCode =
  'health_check_failed' | 'refresh_rejected' | 'network' | 'upstream_error' | 'check_failed';

/** The code of a check the API refused: a later check that passes restores the connection. */
export const CHECK_FAILED = 'health_check_failed' satisfies HealthErrorCode;

/** One attempt, bounded: a check that waits long is as good as a failed one, and is run again later. */
const HEALTH_CALL = { retries: 1, timeoutMs: 15_000 } as const;

/** The connector's health check run once; a connector without `health` is ok once its credential is. */
export async function checkHealth(connector: Connector, deps: InvokeDeps, env: Env): Promise<HealthOutcome> {
  const name = connector.health?.endpoint;
  try {
    if (name === undefined) {
      // No endpoint to call: the credential alone (refreshed when expiring) is what can be checked.
      await deps.credentials.credential();
      return { kind: 'ok' };
    }
    const call = prepare({ connector, endpoint: name, params: {} }, env);
    const response = await send(call, deps, HEALTH_CALL);
    await response.body.dump();
    if (response.status === 401 || response.status === 403) {
      return {
        kind: 'signed_out',
        code: CHECK_FAILED,
        message: `${connector.name} answered ${response.status} to ${name} after a refresh`,
      };
    }
    if (response.status >= 200 && response.status < 300 && response.failed === undefined)
      return { kind: 'ok' };
    return {
      kind: 'unknown',
      code: 'upstream_error',
      message: `${connector.name} answered ${response.status}${response.failed ? ' (an error in its body)' : ''} to ${name}`,
    };
  } catch (error) {
    return healthFailure(connector, error);
  }
}

/** A refusal on the way (a refresh, the network) as an outcome, in connectr's own words only. */
export function healthFailure(connector: Connector, error: unknown): HealthOutcome {
  if (!isConnectrError(error)) {
    return {
      kind: 'unknown',
      code: 'check_failed',
      message: `checking ${connector.name} failed unexpectedly`,
    };
  }
  switch (error.code) {
    case 'needs_reauth':
    case 'auth_expired':
    case 'auth_required':
      return { kind: 'signed_out', code: 'refresh_rejected', message: error.message.slice(0, 500) };
    case 'refreshed_token_rejected':
      return { kind: 'signed_out', code: CHECK_FAILED, message: error.message.slice(0, 500) };
    case 'unavailable':
    case 'timeout':
      return { kind: 'unknown', code: 'network', message: error.message.slice(0, 500) };
    default:
      return { kind: 'unknown', code: 'check_failed', message: error.message.slice(0, 500) };
  }
}
