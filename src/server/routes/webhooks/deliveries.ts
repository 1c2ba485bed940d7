import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { listDeliveries } from '../../services/webhooks.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { pageLimit } from '../../input.js';
import { DeliveryShape, WebhookParams, deliveryJson } from './shape.js';

const MAX_DELIVERIES = 200;

const DeliveriesQuery = z.strictObject({
  limit: pageLimit(MAX_DELIVERIES, 50, 'deliveries, newest first'),
});

/** `GET /api/v1/webhooks/{id}/deliveries`: its deliveries, newest first, with their last attempt. */
export function registerListDeliveries(app: App, context: RouteContext): void {
  app.get(
    '/api/v1/webhooks/:id/deliveries',
    {
      schema: {
        summary: "List a webhook endpoint's deliveries",
        tags: ['webhooks'],
        params: WebhookParams,
        querystring: DeliveriesQuery,
        response: {
          200: z.object({ deliveries: z.array(DeliveryShape) }),
          404: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const rows = await listDeliveries(
        requireData(context),
        projectId,
        request.params.id,
        request.query.limit ?? 50,
      );
      return { deliveries: rows.map(deliveryJson) };
    },
  );
}
