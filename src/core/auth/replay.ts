/**
 * The one rule for a call whose credential the API refused (401, or a connector's "token
 * expired" error code): refresh the credential and send the call again, once, and only when a
 * new credential can be had and the request's body can be sent a second time (an upload read
 * from a stream as it went cannot). The engine (engine/send.ts) and the raw proxy
 * (proxy/forward.ts) both follow it.
 */
export interface RefusedCall {
  /** The answer refused the credential. */
  readonly refused: boolean;
  /** A new credential can be had (a refresh token, an app's client credentials...). */
  readonly canRefresh: boolean;
  /** This call was already sent again after a refresh. */
  readonly refreshed: boolean;
  /** The request's body can be sent again (none, or held in memory). */
  readonly replayable: boolean;
}

export function replaysAfterRefresh(call: RefusedCall): boolean {
  return call.refused && call.canRefresh && !call.refreshed && call.replayable;
}
