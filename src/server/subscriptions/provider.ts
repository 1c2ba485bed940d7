import { randomBytes } from 'node:crypto';
import { send, succeeded } from '../../core/calls/service.js';
import type { Connector } from '../../core/connector/model.js';
import type { InvokeDeps } from '../../core/engine/invoke.js';
import { ConnectrError } from '../../core/errors.js';
import type { Env } from '../../core/paths.js';
import { prepareRawCall } from '../../core/proxy/raw-call.js';

/**
 * A subscription at the provider, made, renewed and removed through the one call path every
 * front-end runs (core/proxy/raw-call.ts builds the request on the connector's host, the engine
 * adds the connection's credential, refreshes it, retries): Microsoft Graph's /subscriptions,
 * Gmail's users.watch and users.stop. Nothing here knows the database.
 */

/** The shapes of `webhooks:` whose subscriptions connectr makes. */
export const SUBSCRIBING_SHAPES = ['microsoft_graph', 'gmail_pubsub'] as const;
export type SubscribingShape = (typeof SUBSCRIBING_SHAPES)[number];

export function subscribingShape(connector: Connector): SubscribingShape | undefined {
  const shape = connector.webhooks?.shape;
  return SUBSCRIBING_SHAPES.find((s) => s === shape);
}

const MINUTE_MS = 60_000;

/**
 * Graph's maximum length of a subscription, by resource ("Maximum length of subscription per
 * resource type", https://learn.microsoft.com/graph/api/resources/subscription): 42,300 minutes
 * for a driveItem, 10,080 minutes for Outlook messages, events and contacts. A resource that
 * table gives less (presence, chat messages: 60 minutes) is asked for the least, and renewed
 * at half of it.
 */
export function graphMaxLifetimeMs(resource: string): number {
  const path = resource.toLowerCase();
  if (/(^|\/)drives?(\/|$)/.test(path)) return 42_300 * MINUTE_MS;
  if (/(^|\/)(messages|mailfolders|events|calendars?|contacts|contactfolders)(\/|\(|$)/.test(path))
    return 10_080 * MINUTE_MS;
  return 60 * MINUTE_MS;
}

/** Graph's changeType: a driveItem supports only `updated`; Outlook items all three. */
function graphChangeType(resource: string): string {
  return /(^|\/)drives?(\/|$)/.test(resource.toLowerCase()) ? 'updated' : 'created,updated,deleted';
}

/** A clientState of 256 random bits: Graph allows up to 128 characters. */
export function newClientState(): string {
  return randomBytes(32).toString('base64url');
}

export interface ProviderSubscription {
  /** Graph's subscription id; for Gmail, the mailbox's one watch. */
  readonly subscriptionId: string;
  readonly expiresAt: Date;
}

interface Call {
  readonly connector: Connector;
  readonly deps: InvokeDeps;
  readonly env: Env;
}

/** One request on the connector's host, its JSON answer read (at most 1 MiB); an error answer throws. */
async function call(
  { connector, deps, env }: Call,
  method: 'POST' | 'PATCH' | 'DELETE',
  target: string,
  body?: unknown,
): Promise<unknown> {
  const { call: prepared } = prepareRawCall(
    {
      connector,
      method,
      target,
      ...(body === undefined
        ? {}
        : {
            body: { kind: 'text', text: JSON.stringify(body) },
            headers: [['content-type', 'application/json']],
          }),
    },
    env,
  );
  const response = await succeeded(prepared, await send(prepared, deps));
  const text = await response.body.text(1024 * 1024);
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConnectrError('upstream', `${connector.name} answered ${target} with a body that is not JSON`);
  }
}

function field(answer: unknown, key: string): unknown {
  return typeof answer === 'object' && answer !== null && key in answer
    ? (answer as Record<string, unknown>)[key]
    : undefined;
}

function graphAnswer(connector: Connector, answer: unknown): ProviderSubscription {
  const id = field(answer, 'id');
  const expiry = Date.parse(String(field(answer, 'expirationDateTime')));
  if (typeof id !== 'string' || id === '' || Number.isNaN(expiry))
    throw new ConnectrError('upstream', `${connector.name} answered a subscription without its id or expiry`);
  return { subscriptionId: id, expiresAt: new Date(expiry) };
}

/** The expiry asked of Graph: its maximum for the resource, less a minute of clock skew. */
function graphExpiry(resource: string, now: number): string {
  return new Date(now + graphMaxLifetimeMs(resource) - MINUTE_MS).toISOString();
}

/** POST /subscriptions: Graph validates notificationUrl (its validationToken) before it answers 201. */
export async function createGraphSubscription(
  target: Call,
  input: { resource: string; notificationUrl: string; clientState: string; now: number },
): Promise<ProviderSubscription> {
  const answer = await call(target, 'POST', '/subscriptions', {
    changeType: graphChangeType(input.resource),
    notificationUrl: input.notificationUrl,
    lifecycleNotificationUrl: input.notificationUrl,
    resource: input.resource,
    expirationDateTime: graphExpiry(input.resource, input.now),
    clientState: input.clientState,
  });
  return graphAnswer(target.connector, answer);
}

/** PATCH /subscriptions/{id} with a new expirationDateTime (also answers reauthorizationRequired). */
export async function renewGraphSubscription(
  target: Call,
  input: { subscriptionId: string; resource: string; now: number },
): Promise<ProviderSubscription> {
  const answer = await call(target, 'PATCH', `/subscriptions/${encodeURIComponent(input.subscriptionId)}`, {
    expirationDateTime: graphExpiry(input.resource, input.now),
  });
  return graphAnswer(target.connector, answer);
}

export async function deleteGraphSubscription(target: Call, subscriptionId: string): Promise<void> {
  await call(target, 'DELETE', `/subscriptions/${encodeURIComponent(subscriptionId)}`);
}

/** users.watch: the mailbox (or one label of it) published to `topic`; calling it again renews it. */
export async function gmailWatch(
  target: Call,
  input: { topic: string; label: string | undefined; connectionId: string },
): Promise<ProviderSubscription> {
  const answer = await call(target, 'POST', '/gmail/v1/users/me/watch', {
    topicName: input.topic,
    ...(input.label === undefined ? {} : { labelIds: [input.label], labelFilterBehavior: 'include' }),
  });
  const expiration = Number(field(answer, 'expiration'));
  if (!Number.isSafeInteger(expiration))
    throw new ConnectrError(
      'upstream',
      `${target.connector.name} answered users.watch without its expiration`,
    );
  return { subscriptionId: gmailWatchId(input.connectionId), expiresAt: new Date(expiration) };
}

/** A mailbox has one watch and Gmail gives it no id: its row's provider id names its connection. */
export function gmailWatchId(connectionId: string): string {
  return `watch:${connectionId}`;
}

export async function gmailStop(target: Call): Promise<void> {
  await call(target, 'POST', '/gmail/v1/users/me/stop');
}
