import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { createSubscription } from '../../subscriptions/service.js';
import type { App, RouteContext } from '../../types.js';
import { ConnectionParams } from '../connections/shape.js';
import { SubscriptionBody, SubscriptionShape, subscriptionDeps, subscriptionJson } from './shape.js';

/**
 * `POST /api/v1/connections/{id}/subscriptions`: a subscription at the connection's provider,
 * made through its credential; Graph validates the daemon's push URL before it answers, so the
 * daemon must be reachable at its public URL.
 */
export function registerCreateSubscription(
  app: App,
  context: RouteContext,
  publicUrl: string | undefined,
): void {
  app.post(
    '/api/v1/connections/:id/subscriptions',
    {
      schema: {
        summary: "Subscribe to a connection's changes at its provider",
        description:
          "Microsoft Graph (onedrive, outlook): a Graph subscription to {resource}, notifying <public URL>/webhooks/providers/<connector> with a clientState connectr keeps sealed, for Graph's longest time for the resource. Gmail: users.watch to CONNECTR_GMAIL_PUSH_TOPIC (resource: a label id, absent: the whole mailbox). The daemon renews it before it expires. A connector that has no such subscriptions is a 400.",
        tags: ['connections'],
        params: ConnectionParams,
        body: SubscriptionBody,
        response: {
          201: SubscriptionShape,
          404: ErrorEnvelopeSchema,
          409: ErrorEnvelopeSchema,
          502: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { projectId } = identityOf(request);
      const made = await createSubscription(
        subscriptionDeps(context, publicUrl),
        projectId,
        request.params.id,
        request.body.resource,
      );
      return reply.code(201).send(subscriptionJson(made));
    },
  );
}
