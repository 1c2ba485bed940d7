import type { Dispatcher } from 'undici';
import { callDeps } from '../../core/calls/deps.js';
import { prepare, send } from '../../core/calls/service.js';
import type { Connector } from '../../core/connector/model.js';
import type { Credential } from '../../core/engine/credential.js';
import { isConnectrError } from '../../core/errors.js';
import type { Env } from '../../core/paths.js';

/**
 * An API key or a password typed on the Connect page, tried on the connector's health endpoint
 * before anything is saved: one the API refuses (401, 403) is not stored, and the page shows
 * what the provider said (escaped by the page). Any other outcome (no health endpoint, a 5xx,
 * the network) says nothing about the credential: it is stored, as `connectr auth` does.
 */

export type Verdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'refused'; readonly status: number; readonly said: string }
  | { readonly kind: 'unknown'; readonly message: string };

/** What the page shows of the provider's answer: its start, as one line without control characters. */
const SAID_BYTES = 600;
const SAID_CHARS = 300;

const VERIFY_CALL = { retries: 0, timeoutMs: 15_000 } as const;

export async function verifyCredential(
  connector: Connector,
  credential: Credential,
  env: Env,
  dispatcher: Dispatcher,
): Promise<Verdict> {
  const name = connector.health?.endpoint;
  if (name === undefined) return { kind: 'ok' };
  try {
    const source = { credential: () => Promise.resolve({ credential, refreshable: false }) };
    const call = prepare({ connector, endpoint: name, params: {} }, env);
    const response = await send(call, callDeps(source, { env, dispatcher }), VERIFY_CALL);
    if (response.status === 401 || response.status === 403) {
      const head = await response.body.head(SAID_BYTES);
      head.rest.destroy();
      return { kind: 'refused', status: response.status, said: oneLine(head.bytes.toString('utf8')) };
    }
    await response.body.dump();
    if (response.status >= 200 && response.status < 300) return { kind: 'ok' };
    return { kind: 'unknown', message: `${connector.displayName} answered ${response.status}` };
  } catch (error) {
    // A refusal after the engine's own retry comes back as an error too.
    if (isConnectrError(error) && (error.code === 'auth_expired' || error.code === 'auth_required'))
      return { kind: 'refused', status: 401, said: '' };
    return { kind: 'unknown', message: isConnectrError(error) ? error.message : 'the check failed' };
  }
}

/** Control characters and runs of space become one space; bounded. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\x00-\x1f\x7f-\x9f\s]+/g, ' ').trim();
  return flat.length > SAID_CHARS ? `${flat.slice(0, SAID_CHARS)}…` : flat;
}
