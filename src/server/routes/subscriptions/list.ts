import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { listSubscriptions } from '../../subscriptions/service.js';
import type { App, RouteContext } from '../../types.js';
import { ConnectionParams } from '../connections/shape.js';
import { SubscriptionShape, subscriptionDeps, subscriptionJson } from './shape.js';

/** `GET /api/v1/connections/{id}/subscriptions`: the connection's subscriptions, oldest first. */
export function registerListSubscriptions(app: App, context: RouteContext): void {
  app.get(
    '/api/v1/connections/:id/subscriptions',
    {
      schema: {
        summary: "List a connection's subscriptions at its provider",
        tags: ['connections'],
        params: ConnectionParams,
        response: {
          200: z.object({ subscriptions: z.array(SubscriptionShape) }),
          404: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const rows = await listSubscriptions(
        subscriptionDeps(context, undefined),
        projectId,
        request.params.id,
      );
      return { subscriptions: rows.map(subscriptionJson) };
    },
  );
}
