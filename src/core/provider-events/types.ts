import type { WebhooksDefinition, WebhookShape } from '../connector/schema.js';
import type { OidcConfig } from './jwt.js';

/** A provider's push as it arrived: the raw body, because signatures are over its exact bytes. */
export interface PushRequest {
  readonly method: string;
  readonly query: URLSearchParams;
  /** Header names in lower case, as Node gives them. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: Buffer;
}

/** A secret a push may be signed with, and whose it is (a project id). */
export interface SigningSecret {
  readonly owner: string;
  readonly secret: string;
}

/** What a Graph notification is checked against: the subscription connectr created. */
export interface GraphSubscription {
  readonly owner: string;
  readonly clientState: string;
}

/** One verified event, with the keys that attribute it to connections. */
export interface PushEvent {
  /** The project whose secret (or subscription) verified it; undefined when any may own it. */
  readonly owner: string | undefined;
  readonly eventType: string;
  /** Account ids, team ids, installation ids, e-mail addresses the event names. */
  readonly accountKeys: readonly string[];
  /** Graph: the subscription it came through (attributes it to the connection that made it). */
  readonly subscriptionId?: string;
  /** The provider's delivery id, when it has one: a repeat is recorded once. */
  readonly dedupeKey?: string;
  /** The payload as received, less any secret of ours (Graph's clientState). */
  readonly payload: unknown;
}

export const REFUSAL_REASONS = [
  'method',
  'too_large',
  'malformed',
  'no_secret',
  'missing_signature',
  'bad_signature',
  'stale_timestamp',
  'bad_client_state',
  'bad_token',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export type Verdict =
  /** Answer the provider's handshake with `body` (text/plain, nosniff); nothing to record. */
  | { readonly kind: 'handshake'; readonly body: string }
  /**
   * Verified events; `discarded` are the reasons of the parts of a batch refused (a Graph
   * notification whose clientState does not match), counted but not recorded.
   */
  | {
      readonly kind: 'events';
      readonly status: 200 | 202;
      readonly events: readonly PushEvent[];
      readonly discarded: readonly RefusalReason[];
    }
  | {
      readonly kind: 'refused';
      readonly status: 400 | 401 | 403 | 405 | 413;
      readonly reason: RefusalReason;
    };

/** What a shape is given to verify a push; everything it may not know is injected. */
export interface VerifyInput<D extends WebhooksDefinition = WebhooksDefinition> {
  readonly definition: D;
  readonly request: PushRequest;
  /** The secrets the push may be signed with: one per project that set one for the connector. */
  readonly secrets: readonly SigningSecret[];
  /** Milliseconds since the epoch (an injected clock). */
  readonly now: number;
  /** Gmail: the OIDC token of the Pub/Sub push is checked when configured. */
  readonly oidc?: OidcConfig | undefined;
  /** Graph: the subscriptions of these ids that connectr created. */
  readonly subscriptions?: (ids: readonly string[]) => Promise<ReadonlyMap<string, GraphSubscription>>;
}

export type ShapeVerifier<S extends WebhookShape> = (
  input: VerifyInput<Extract<WebhooksDefinition, { shape: S }>>,
) => Verdict | Promise<Verdict>;

export const refused = (status: 400 | 401 | 403 | 405 | 413, reason: RefusalReason): Verdict => ({
  kind: 'refused',
  status,
  reason,
});

/** A push's one event, given to each project whose secret verified it. */
export const eventFor = (
  owners: readonly (string | undefined)[],
  event: Omit<PushEvent, 'owner'>,
): Verdict => ({
  kind: 'events',
  status: 200,
  discarded: [],
  events: owners.map((owner) => ({ owner, ...event })),
});
