import { callDeps } from '../../core/calls/deps.js';
import type { Connector } from '../../core/connector/model.js';
import { UpstreamError } from '../../core/engine/response.js';
import { ConnectrError } from '../../core/errors.js';
import type { TaskDeps } from '../rounds.js';
import { databaseCredentials } from '../credentials/source.js';
import type { DatabaseCredentialDeps } from '../credentials/source.js';
import type { Connection } from '../store/connections.js';
import { requireConnection } from '../store/connections.js';
import { pinnedConnector } from '../services/connections.js';
import { guard } from '../store/open.js';
import {
  connectionSubscriptions,
  deleteSubscriptionRow,
  putSubscription,
  renewedSubscription,
  subscriptionClientState,
} from '../store/provider-subscriptions.js';
import type { StoredSubscription } from '../store/provider-subscriptions.js';

export type { StoredSubscription };
import {
  createGraphSubscription,
  deleteGraphSubscription,
  gmailStop,
  gmailWatch,
  newClientState,
  renewGraphSubscription,
  subscribingShape,
} from './provider.js';
import type { ProviderSubscription, SubscribingShape } from './provider.js';

/**
 * A connection's subscriptions at its provider (POST/GET/DELETE
 * /api/v1/connections/{id}/subscriptions, and the renewal task): the provider asked through the
 * connection's credential (provider.ts), then the row written; a row is only ever written for
 * a subscription the provider confirmed.
 */

export interface SubscriptionDeps extends TaskDeps {
  /** Where providers reach this daemon (`serve --public-url`); Graph's notificationUrl is below it. */
  readonly publicUrl: URL | undefined;
  /** Gmail's Pub/Sub topic (CONNECTR_GMAIL_PUSH_TOPIC). */
  readonly gmailTopic: string | undefined;
}

interface Target {
  readonly connection: Connection;
  readonly connector: Connector;
  readonly shape: SubscribingShape;
}

async function target(deps: SubscriptionDeps, projectId: string, connectionId: string): Promise<Target> {
  const connection = await guard(deps.data.database, () =>
    requireConnection(deps.data.db, projectId, connectionId),
  );
  const connector = pinnedConnector(await deps.registry(), connection);
  const shape = subscribingShape(connector);
  if (shape === undefined)
    throw new ConnectrError(
      'invalid_input',
      `${connector.name} has no subscriptions connectr makes: only Microsoft Graph (onedrive, outlook) and Gmail connections subscribe`,
      {
        hint:
          connector.webhooks === undefined
            ? `${connector.name} declares no webhooks`
            : `${connector.name}'s pushes are registered in the provider's console (docs/webhooks.md)`,
      },
    );
  return { connection, connector, shape };
}

function callTarget(deps: SubscriptionDeps, { connection, connector }: Target) {
  const credentials: DatabaseCredentialDeps = {
    data: deps.data,
    env: deps.env,
    now: deps.now,
    ...(deps.onRefresh ? { onRefresh: deps.onRefresh } : {}),
  };
  return {
    connector,
    env: deps.env,
    deps: callDeps(databaseCredentials(credentials, connection, connector), {
      env: deps.env,
      dispatcher: deps.dispatcher,
      ...(deps.signal ? { signal: deps.signal } : {}),
    }),
  };
}

/** Graph's notificationUrl: the daemon's public URL and the connector's push route. */
function notificationUrl(deps: SubscriptionDeps, connector: Connector): string {
  if (deps.publicUrl === undefined)
    throw new ConnectrError(
      'conflict',
      'Microsoft Graph must reach this daemon to deliver notifications, and it has no public URL',
      { hint: 'start it with connectr serve --public-url https://<where Graph reaches it>' },
    );
  return new URL(`webhooks/providers/${connector.name}`, withSlash(deps.publicUrl)).toString();
}

function withSlash(url: URL): URL {
  return url.pathname.endsWith('/') ? url : new URL(`${url.toString()}/`);
}

function gmailTopic(deps: SubscriptionDeps): string {
  if (deps.gmailTopic === undefined || deps.gmailTopic === '')
    throw new ConnectrError('conflict', 'Gmail publishes to a Cloud Pub/Sub topic, and none is configured', {
      hint: 'set CONNECTR_GMAIL_PUSH_TOPIC=projects/<project>/topics/<topic> (docs/webhooks.md, Gmail)',
    });
  return deps.gmailTopic;
}

/** Makes the subscription at the provider, then records it (Gmail: the mailbox's one watch, replaced). */
export async function createSubscription(
  deps: SubscriptionDeps,
  projectId: string,
  connectionId: string,
  resource: string | undefined,
): Promise<StoredSubscription> {
  const found = await target(deps, projectId, connectionId);
  const call = callTarget(deps, found);
  const now = deps.now();
  const base = { projectId, connectionId, connector: found.connector.name };
  if (found.shape === 'microsoft_graph') {
    if (resource === undefined)
      throw new ConnectrError('invalid_input', 'a Microsoft Graph subscription needs its resource', {
        hint:
          found.connector.name === 'outlook' ? 'e.g. me/mailFolders/inbox/messages' : 'e.g. me/drive/root',
      });
    const clientState = newClientState();
    const made = await createGraphSubscription(call, {
      resource,
      notificationUrl: notificationUrl(deps, found.connector),
      clientState,
      now,
    });
    return record(deps, { ...base, ...made, resource, clientState });
  }
  const made = await gmailWatch(call, { topic: gmailTopic(deps), label: resource, connectionId });
  const previous = (await list(deps, projectId, connectionId)).filter(
    (s) => s.subscriptionId === made.subscriptionId,
  );
  for (const row of previous)
    await guard(deps.data.database, () => deleteSubscriptionRow(deps.data.db, row.id));
  return record(deps, { ...base, ...made, resource: resource ?? 'mailbox' });
}

async function record(
  deps: SubscriptionDeps,
  input: Parameters<typeof putSubscription>[2] & ProviderSubscription,
): Promise<StoredSubscription> {
  const id = await guard(deps.data.database, () =>
    putSubscription(deps.data.db, deps.data.keys, input, new Date(deps.now())),
  );
  const [row] = await guard(deps.data.database, () =>
    connectionSubscriptions(deps.data.db, input.projectId, input.connectionId, id),
  );
  if (!row) throw new ConnectrError('internal', 'a subscription just recorded is gone');
  return row;
}

function list(
  deps: SubscriptionDeps,
  projectId: string,
  connectionId: string,
): Promise<StoredSubscription[]> {
  return guard(deps.data.database, () => connectionSubscriptions(deps.data.db, projectId, connectionId));
}

/** The connection's subscriptions; a connection of another project is a 404 as an unknown one is. */
export async function listSubscriptions(
  deps: SubscriptionDeps,
  projectId: string,
  connectionId: string,
): Promise<StoredSubscription[]> {
  await guard(deps.data.database, () => requireConnection(deps.data.db, projectId, connectionId));
  return list(deps, projectId, connectionId);
}

/** Removes the subscription at the provider (already gone there is fine), then here. */
export async function deleteSubscription(
  deps: SubscriptionDeps,
  projectId: string,
  connectionId: string,
  id: string,
): Promise<void> {
  const found = await target(deps, projectId, connectionId);
  const [row] = await guard(deps.data.database, () =>
    connectionSubscriptions(deps.data.db, projectId, connectionId, id),
  );
  if (!row)
    throw new ConnectrError('not_found', `connection ${connectionId} has no subscription ${id}`, {
      hint: `GET /api/v1/connections/${connectionId}/subscriptions lists them`,
    });
  const call = callTarget(deps, found);
  try {
    if (found.shape === 'microsoft_graph') await deleteGraphSubscription(call, row.subscriptionId);
    else await gmailStop(call);
  } catch (error) {
    if (!goneAtProvider(error)) throw error;
  }
  await guard(deps.data.database, () => deleteSubscriptionRow(deps.data.db, row.id));
}

/** A 404 from the provider: the subscription expired or was removed there. */
function goneAtProvider(error: unknown): boolean {
  return error instanceof UpstreamError && error.status === 404;
}

/**
 * Renews one subscription at the provider: Graph's PATCH of its expiry (made again, with the
 * same clientState, when Graph no longer knows it), Gmail's watch called again.
 */
export async function renewSubscription(deps: SubscriptionDeps, row: StoredSubscription): Promise<void> {
  const found = await target(deps, row.projectId, row.connectionId);
  const call = callTarget(deps, found);
  const now = deps.now();
  let renewed: ProviderSubscription;
  if (found.shape === 'gmail_pubsub') {
    renewed = await gmailWatch(call, {
      topic: gmailTopic(deps),
      label: row.resource === 'mailbox' ? undefined : row.resource,
      connectionId: row.connectionId,
    });
  } else {
    try {
      renewed = await renewGraphSubscription(call, { ...row, now });
    } catch (error) {
      if (!goneAtProvider(error)) throw error;
      // Made again with the clientState its row holds sealed, so the row stays the secret's keeper.
      const clientState = await guard(deps.data.database, () =>
        subscriptionClientState(deps.data.db, deps.data.keys, row.id),
      );
      if (clientState === undefined) throw error;
      renewed = await createGraphSubscription(call, {
        resource: row.resource,
        notificationUrl: notificationUrl(deps, found.connector),
        clientState,
        now,
      });
    }
  }
  await guard(deps.data.database, () => renewedSubscription(deps.data.db, row.id, renewed, new Date(now)));
}
