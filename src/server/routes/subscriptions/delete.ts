import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { deleteSubscription } from '../../subscriptions/service.js';
import type { App, RouteContext } from '../../types.js';
import { SubscriptionParams, subscriptionDeps } from './shape.js';

/** `DELETE /api/v1/connections/{id}/subscriptions/{sub_id}`: removed at the provider, then here. */
export function registerDeleteSubscription(app: App, context: RouteContext): void {
  app.delete(
    '/api/v1/connections/:id/subscriptions/:sub_id',
    {
      schema: {
        summary: 'Delete a subscription',
        description:
          'Deletes the Graph subscription (Gmail: users.stop) at the provider, then here; one the provider no longer knows is deleted here all the same.',
        tags: ['connections'],
        params: SubscriptionParams,
        response: {
          200: z.object({ deleted: z.literal(true) }),
          404: ErrorEnvelopeSchema,
          502: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      await deleteSubscription(
        subscriptionDeps(context, undefined),
        projectId,
        request.params.id,
        request.params.sub_id,
      );
      return { deleted: true as const };
    },
  );
}
