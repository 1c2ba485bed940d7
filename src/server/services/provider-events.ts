import type { Connector } from '../../core/connector/model.js';
import type { OidcConfig } from '../../core/provider-events/jwt.js';
import { verifyPush } from '../../core/provider-events/registry.js';
import type { GraphSubscription, PushEvent, PushRequest, Verdict } from '../../core/provider-events/types.js';
import type { ServerData } from '../contracts.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/db.js';
import { webhookSecrets } from '../store/oauth-apps.js';
import { guard } from '../store/open.js';
import { connectionsByAccount, subscriptionsById } from '../store/provider-events.js';
import { renewSoon } from '../store/provider-subscriptions.js';
import type { AttributedConnection } from '../store/provider-events.js';
import type { ProviderEvent } from '../webhooks/provider-event.js';

/**
 * A provider's push to /webhooks/providers/{connector}[/{project}]: verified by the connector's
 * shape (core/provider-events) against the secrets projects set, each event attributed to the
 * connections it concerns and recorded for forwarding, in one transaction, before the provider
 * gets its 2xx (the delivery to the app is the outbox's work, not this request's).
 */

/** Writes one event to the outbox (webhooks/provider-event.ts); injected so tests can watch it. */
export type RecordProviderEvent = (tx: Db, event: ProviderEvent, now: Date) => Promise<boolean>;

export interface PushDeps {
  readonly data: ServerData;
  readonly metrics: Metrics;
  readonly now: () => number;
  readonly record: RecordProviderEvent;
  /** Gmail: the Pub/Sub push's OIDC token is required and checked when set. */
  readonly oidc?: OidcConfig | undefined;
}

type WebhookConnector = Connector & { readonly webhooks: NonNullable<Connector['webhooks']> };

export async function receivePush(
  deps: PushDeps,
  connector: WebhookConnector,
  projectId: string | undefined,
  request: PushRequest,
): Promise<Verdict> {
  const { data, metrics } = deps;
  const needsSecrets = connector.webhooks.shape !== 'microsoft_graph';
  const secrets = needsSecrets
    ? await guard(data.database, () => webhookSecrets(data.db, data.keys, connector.name, projectId))
    : [];
  const subscriptionConnections = new Map<string, AttributedConnection>();
  const verdict = await verifyPush({
    definition: connector.webhooks,
    request,
    secrets,
    now: deps.now(),
    oidc: deps.oidc,
    subscriptions: async (ids) => {
      const rows = await guard(data.database, () =>
        subscriptionsById(data.db, data.keys, connector.name, ids),
      );
      const found = new Map<string, GraphSubscription>();
      for (const row of rows) {
        if (row.clientState === undefined || (projectId !== undefined && row.projectId !== projectId))
          continue;
        found.set(row.subscriptionId, { owner: row.projectId, clientState: row.clientState });
        subscriptionConnections.set(row.subscriptionId, row);
      }
      return found;
    },
  });
  if (verdict.kind === 'refused') {
    metrics.providerEventRefused(connector.name, verdict.reason);
    return verdict;
  }
  if (verdict.kind === 'handshake') return verdict;
  for (const reason of verdict.discarded) metrics.providerEventRefused(connector.name, reason);
  const now = new Date(deps.now());
  await guard(data.database, () =>
    data.db.transaction(async (tx) => {
      for (const event of verdict.events) {
        const concerned =
          event.subscriptionId === undefined
            ? await connectionsByAccount(tx, connector.name, event.accountKeys, event.owner)
            : [subscriptionConnections.get(event.subscriptionId)].filter((c) => c !== undefined);
        await recordOne(deps, tx, connector.name, event, concerned, now);
        // Graph asks for a renewal (reauthorizationRequired) or dropped the subscription
        // (subscriptionRemoved): the next renewal round renews it, or makes it again. `missed`
        // needs nothing here: recorded like any event, it tells the app to resync.
        if (event.subscriptionId !== undefined && RENEW_ON.has(event.eventType))
          await renewSoon(tx, connector.name, event.subscriptionId);
      }
    }),
  );
  return verdict;
}

/** Graph's lifecycle events that ask for the subscription to be renewed or made again. */
const RENEW_ON = new Set(['reauthorizationRequired', 'subscriptionRemoved']);

/** One record per connection concerned; once with no connection when none is, in the project that verified it. */
async function recordOne(
  deps: PushDeps,
  tx: Db,
  connector: string,
  event: PushEvent,
  concerned: readonly AttributedConnection[],
  now: Date,
): Promise<void> {
  const targets: { projectId: string; connectionId: string | null }[] =
    concerned.length > 0
      ? [...concerned]
      : event.owner === undefined
        ? []
        : [{ projectId: event.owner, connectionId: null }];
  deps.metrics.providerEvent(
    connector,
    concerned.length > 0 ? 'attributed' : targets.length > 0 ? 'unattributed' : 'dropped',
  );
  for (const target of targets) {
    await deps.record(
      tx,
      {
        projectId: target.projectId,
        connector,
        connectionId: target.connectionId,
        eventType: event.eventType,
        payload: event.payload,
        // The provider's delivery id names the push; each connection's copy is its own event.
        dedupeKey:
          event.dedupeKey === undefined
            ? undefined
            : `${connector}:${event.dedupeKey}:${target.connectionId ?? target.projectId}`,
      },
      now,
    );
  }
}
