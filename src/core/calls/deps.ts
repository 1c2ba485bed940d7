import { localCredentials } from '../auth/tokens.js';
import type { AuthDeps } from '../auth/deps.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import type { Connector } from '../connector/model.js';
import type { CredentialSource } from '../engine/credential.js';
import type { InvokeDeps } from '../engine/invoke.js';

/**
 * The engine's dependencies for a call, built the one way every front-end needs them: the
 * credential source, then the surroundings (environment, abort signal, the server's
 * dispatcher, a terminal's stdin and progress callbacks); the real clock unless one is given.
 */

export interface CallSurroundings extends Omit<InvokeDeps, 'credentials' | 'clock'> {
  readonly clock?: Clock | undefined;
}

export function callDeps(credentials: CredentialSource, surroundings: CallSurroundings): InvokeDeps {
  return { ...surroundings, credentials, clock: surroundings.clock ?? systemClock };
}

/**
 * A call with the local CLI's accounts (`connectr auth`): a token from the environment, else the
 * account's secret, refreshed when needed. The CLI, `connectr mcp` and connectr/local.
 */
export function localCallDeps(
  connector: Connector,
  account: string | undefined,
  auth: AuthDeps,
  surroundings: Omit<CallSurroundings, 'env' | 'clock'> = {},
): InvokeDeps {
  return callDeps(localCredentials(connector, account, auth), {
    ...surroundings,
    env: auth.env,
    clock: auth.clock,
  });
}
