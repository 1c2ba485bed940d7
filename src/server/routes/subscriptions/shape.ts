import * as z from 'zod';
import { ID_PATTERN, NO_CONTROL } from '../../input.js';
import { taskDeps } from '../../rounds.js';
import { settingsOf } from '../../settings.js';
import type { StoredSubscription, SubscriptionDeps } from '../../subscriptions/service.js';
import type { RouteContext } from '../../types.js';
import { ConnectionParams } from '../connections/shape.js';

/** The JSON of a subscription connectr made at a provider (its clientState never leaves the database). */
export const SubscriptionShape = z.object({
  id: z.string().describe('connectr’s id of the subscription, `sub_…`.'),
  connection_id: z.string(),
  connector: z.string(),
  provider_subscription_id: z
    .string()
    .describe(
      "The provider's id: Graph's subscription id; for Gmail, `watch:<connection id>` (a mailbox has one watch).",
    ),
  resource: z.string().describe('The Graph resource, or the Gmail label watched (`mailbox`: all of it).'),
  expires_at: z
    .string()
    .describe('When the provider stops sending unless renewed (the daemon renews it before).'),
  created_at: z.string(),
  renewed_at: z.string(),
});

export function subscriptionJson(row: StoredSubscription): z.infer<typeof SubscriptionShape> {
  return {
    id: row.id,
    connection_id: row.connectionId,
    connector: row.connector,
    provider_subscription_id: row.subscriptionId,
    resource: row.resource,
    expires_at: row.expiresAt.toISOString(),
    created_at: row.createdAt.toISOString(),
    renewed_at: row.updatedAt.toISOString(),
  };
}

export const SubscriptionParams = ConnectionParams.extend({
  sub_id: z
    .string()
    .max(64, { message: 'a subscription id has at most 64 characters' })
    .regex(ID_PATTERN, { message: 'expected a subscription id, e.g. sub_abc…' }),
});

export const SubscriptionBody = z.strictObject({
  resource: z
    .string()
    .min(1, { message: 'resource must not be empty' })
    .max(1024, { message: 'resource has at most 1024 characters' })
    .regex(NO_CONTROL, { message: 'resource must not contain control characters' })
    .optional()
    .describe(
      'Graph: the resource to watch, e.g. me/drive/root or me/mailFolders/inbox/messages (required). Gmail: one label id to watch, e.g. INBOX; absent: the whole mailbox.',
    ),
});

/** The subscription service of the app behind `context`, its calls on the upstream pool execute uses. */
export function subscriptionDeps(context: RouteContext, publicUrl: string | undefined): SubscriptionDeps {
  return {
    ...taskDeps(context),
    publicUrl: publicUrl === undefined ? undefined : new URL(publicUrl),
    gmailTopic: settingsOf(context.deps).CONNECTR_GMAIL_PUSH_TOPIC,
  };
}
