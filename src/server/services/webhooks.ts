import { ConnectrError } from '../../core/errors.js';
import type { ServerData } from '../contracts.js';
import { guard } from '../store/open.js';
import * as store from '../store/webhooks.js';
import type { DeliveryView, EndpointPatch, WebhookEndpoint } from '../store/webhooks.js';
import { DEFAULT_RETRY_SCHEDULE } from '../webhooks/schedule.js';
import { newWebhookSecret } from '../webhooks/signing.js';
import { outboxWritten } from '../webhooks/signal.js';
import { webhookUrlProblem } from '../webhooks/url.js';

/**
 * A project's webhook endpoints and their deliveries: what the /api/v1/webhooks routes ask for,
 * each query guarded (a lost database is a 503). A secret leaves only in the answer of the
 * create and rotate-secret calls.
 */

export type { DeliveryView, WebhookEndpoint } from '../store/webhooks.js';

/** How long a rotated-out secret keeps signing beside the new one. */
export const SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;

export const TEST_EVENT_TYPE = 'webhook.test';

export interface EndpointInput {
  readonly url: string;
  readonly events: readonly string[];
  readonly description: string | null;
}

export interface EndpointWithSecret {
  readonly endpoint: WebhookEndpoint;
  readonly secret: string;
}

/** Refused here too, whatever the route checked: no URL reaches the table unchecked. */
function checkUrl(url: string): void {
  const problem = webhookUrlProblem(url);
  if (problem) throw new ConnectrError('invalid_input', problem, { hint: 'use an https:// URL' });
}

export async function createWebhook(
  data: ServerData,
  projectId: string,
  input: EndpointInput,
  now = new Date(),
): Promise<EndpointWithSecret> {
  checkUrl(input.url);
  const secret = newWebhookSecret();
  const endpoint = await guard(data.database, () =>
    store.createEndpoint(data.db, data.keys, { projectId, ...input }, secret, now),
  );
  return { endpoint, secret };
}

export function listWebhooks(data: ServerData, projectId: string): Promise<WebhookEndpoint[]> {
  return guard(data.database, () => store.listEndpoints(data.db, projectId));
}

export function requireWebhook(data: ServerData, projectId: string, id: string): Promise<WebhookEndpoint> {
  return guard(data.database, () => store.requireEndpoint(data.db, projectId, id));
}

export interface WebhookPatch {
  readonly url?: string | undefined;
  readonly events?: readonly string[] | undefined;
  readonly description?: string | null | undefined;
  /** false: enabled again (after a 410); true: stops deliveries until enabled. */
  readonly disabled?: boolean | undefined;
}

export function updateWebhook(
  data: ServerData,
  projectId: string,
  id: string,
  patch: WebhookPatch,
  now = new Date(),
): Promise<WebhookEndpoint> {
  if (patch.url !== undefined) checkUrl(patch.url);
  const set: EndpointPatch = {
    ...(patch.url === undefined ? {} : { url: patch.url }),
    ...(patch.events === undefined ? {} : { events: [...patch.events] }),
    ...(patch.description === undefined ? {} : { description: patch.description }),
    ...(patch.disabled === undefined
      ? {}
      : patch.disabled
        ? { disabledAt: now, disabledReason: 'disabled through the API' }
        : { disabledAt: null, disabledReason: null }),
  };
  return guard(data.database, () => store.updateEndpoint(data.db, projectId, id, set, now)).finally(() => {
    // Enabled again: its waiting deliveries are due.
    if (patch.disabled === false) outboxWritten();
  });
}

export function deleteWebhook(data: ServerData, projectId: string, id: string): Promise<void> {
  return guard(data.database, () => store.deleteEndpoint(data.db, projectId, id));
}

/** A new secret; the old one signs beside it for SECRET_OVERLAP_MS. */
export async function rotateWebhookSecret(
  data: ServerData,
  projectId: string,
  id: string,
  now = new Date(),
): Promise<EndpointWithSecret> {
  const secret = newWebhookSecret();
  const endpoint = await guard(data.database, () =>
    store.rotateSecret(
      data.db,
      data.keys,
      projectId,
      id,
      secret,
      new Date(now.getTime() + SECRET_OVERLAP_MS),
      now,
    ),
  );
  return { endpoint, secret };
}

/** Records a webhook.test event for this endpoint alone; its id. */
export async function sendTestEvent(
  data: ServerData,
  projectId: string,
  id: string,
  now = new Date(),
): Promise<string> {
  const event = await guard(data.database, () =>
    data.db.transaction(async (tx) => {
      const endpoint = await store.requireEndpoint(tx, projectId, id);
      return store.insertEvent(
        tx,
        {
          projectId,
          type: TEST_EVENT_TYPE,
          connectionId: null,
          endpointId: endpoint.id,
          data: { webhook_id: endpoint.id, message: 'a test event sent by POST /api/v1/webhooks/{id}/test' },
        },
        now,
        DEFAULT_RETRY_SCHEDULE.retryForMs,
      );
    }),
  );
  // An event without a dedupe key is always written.
  if (!event) throw new ConnectrError('internal', 'the webhook.test event was not written');
  outboxWritten();
  return event.id;
}

export async function listDeliveries(
  data: ServerData,
  projectId: string,
  id: string,
  limit: number,
): Promise<DeliveryView[]> {
  return guard(data.database, async () => {
    await store.requireEndpoint(data.db, projectId, id);
    return store.listDeliveries(data.db, projectId, id, limit);
  });
}

/** The delivery due again now, with a new retry period, whatever its state. */
export async function redeliver(
  data: ServerData,
  projectId: string,
  id: string,
  eventId: string,
  now = new Date(),
): Promise<DeliveryView> {
  const view = await guard(data.database, async () => {
    await store.requireEndpoint(data.db, projectId, id);
    return store.redeliver(data.db, projectId, id, eventId, now, DEFAULT_RETRY_SCHEDULE.retryForMs);
  });
  outboxWritten();
  return view;
}
