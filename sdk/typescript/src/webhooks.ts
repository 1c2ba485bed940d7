/**
 * Verifying a delivery of connectr's outgoing webhooks (docs/webhooks.md). Deliveries follow the
 * Standard Webhooks specification, so the check is the official `standardwebhooks` library's:
 * this module only picks the headers out of whatever a framework hands over, tries each secret
 * (two during a rotation's overlap) and turns the library's failures into one typed error.
 */
import { Webhook as StandardWebhook, WebhookVerificationError as StandardError } from 'standardwebhooks';
import { ConnectrError, InvalidInputError } from './errors.js';
import type { Connection } from './types.js';

/** The events a connection's changes emit. */
export type ConnectionEventType =
  | 'connection.created'
  | 'connection.signed_in'
  | 'connection.needs_reauth'
  | 'connection.restored'
  | 'connection.deleted';

/** What an endpoint can ask for in `events`: the connection events and the providers' pushes. */
export type SubscribableEventType = ConnectionEventType | 'provider.event';

export type WebhookEventType = SubscribableEventType | 'webhook.test';

/** Why a connection needs a new sign-in (`connection.needs_reauth` only). */
export interface NeedsReauthReason {
  /** `refresh_rejected` (the provider refused the refresh token) or `health_check_failed`. */
  code: string;
  message: string;
}

/** A connection event: `data` is the connection as `GET /api/v1/connections/{id}` shows it, after the change. */
export interface ConnectionWebhookEvent<T extends ConnectionEventType = ConnectionEventType> {
  type: T;
  /** When the change happened (ISO 8601). */
  timestamp: string;
  data: Connection & { reason?: NeedsReauthReason };
}

/** What `POST /api/v1/webhooks/{id}/test` sends. */
export interface WebhookTestEvent {
  type: 'webhook.test';
  timestamp: string;
  data: { webhook_id: string; message: string };
}

/** A provider's push, verified by the daemon and forwarded (docs/webhooks.md, "Provider events"). */
export interface ProviderWebhookEvent {
  type: 'provider.event';
  timestamp: string;
  data: {
    connector: string;
    /** The connection the event concerns; null when the daemon knows none it concerns. */
    connection_id: string | null;
    /** The provider's own event type (list_folder, message, push…). */
    event_type: string;
    /** The provider's payload as it was received. */
    payload: unknown;
  };
}

/** A verified delivery's body; narrow it on `type`. Newer servers may send types not listed here. */
export type WebhookEvent = ConnectionWebhookEvent | ProviderWebhookEvent | WebhookTestEvent;

/**
 * The request headers: a fetch `Headers`, or an object of them as node:http (`req.headers`),
 * express or fastify give it (names in any case; an array value takes its first entry).
 */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * A delivery that is not connectr's, or not now: a missing `webhook-*` header, no signature made
 * with any of the secrets (a tampered body, a wrong secret), or a `webhook-timestamp` more than
 * five minutes from this machine's clock (a replay). Answer such a request with a 4xx and do
 * not act on it. The message never holds a secret.
 */
export class WebhookVerificationError extends ConnectrError {
  constructor(message: string, init: { cause?: unknown } = {}) {
    super('webhook_verification_failed', message, init);
  }
}

const HEADER_NAMES = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

function pickHeaders(headers: WebhookHeaders): Record<string, string> {
  const picked: Record<string, string> = {};
  if (headers instanceof Headers) {
    for (const name of HEADER_NAMES) {
      const value = headers.get(name);
      if (value !== null) picked[name] = value;
    }
    return picked;
  }
  // Names compared case-insensitively, only the three wanted: no other key is ever read or copied.
  for (const [key, raw] of Object.entries(headers)) {
    const name = key.toLowerCase();
    if (!(HEADER_NAMES as readonly string[]).includes(name) || raw === undefined) continue;
    const value = typeof raw === 'string' ? raw : raw[0];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

function verifier(secret: string): StandardWebhook {
  if (typeof secret !== 'string' || !/^whsec_[A-Za-z0-9+/]+=*$/.test(secret))
    throw new InvalidInputError('invalid_input', 'a webhook secret is "whsec_" followed by base64', {
      details: [{ field: 'secret', message: 'not a whsec_ secret' }],
    });
  return new StandardWebhook(secret);
}

/**
 * Checks a delivery of connectr's webhooks with the official Standard Webhooks library and
 * returns its event. `payload` is the request body exactly as received (the raw bytes or text,
 * never a re-serialised object); `secret` the endpoint's `whsec_…` secret, or a list of them
 * (during your own migration to a rotated secret). Throws WebhookVerificationError when the
 * delivery does not verify, InvalidInputError when a secret is malformed.
 *
 * ```ts
 * const event = verifyWebhook(await request.text(), request.headers, process.env.WEBHOOK_SECRET!);
 * if (event.type === 'connection.needs_reauth') notify(event.data.user_id, event.data.reason);
 * ```
 */
export function verifyWebhook(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | readonly string[],
): WebhookEvent {
  const secrets = typeof secret === 'string' ? [secret] : [...secret];
  if (secrets.length === 0) throw new InvalidInputError('invalid_input', 'give at least one webhook secret');
  const verifiers = secrets.map(verifier);
  const body =
    typeof payload === 'string'
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const picked = pickHeaders(headers);
  let failure: unknown;
  for (const one of verifiers) {
    let event: unknown;
    try {
      event = one.verify(body, picked);
    } catch (error) {
      // A missing header or a stale timestamp fails alike with every secret; a signature may
      // match the next one.
      failure = error;
      continue;
    }
    if (typeof event !== 'object' || event === null || typeof (event as { type?: unknown }).type !== 'string')
      throw new WebhookVerificationError('the delivery verified but its body is not a webhook event');
    return event as WebhookEvent;
  }
  if (failure instanceof StandardError)
    throw new WebhookVerificationError(`webhook verification failed: ${failure.message}`, { cause: failure });
  // The library's own errors besides its typed one: a body that is not JSON once verified.
  throw new WebhookVerificationError('webhook verification failed: the body is not JSON', { cause: failure });
}
