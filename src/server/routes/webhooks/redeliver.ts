import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { redeliver } from '../../services/webhooks.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { DeliveryParams, DeliveryShape, deliveryJson } from './shape.js';

/** `POST /api/v1/webhooks/{id}/deliveries/{event_id}/redeliver`: that event again, with the same webhook-id. */
export function registerRedeliver(app: App, context: RouteContext): void {
  app.post(
    '/api/v1/webhooks/:id/deliveries/:event_id/redeliver',
    {
      schema: {
        summary: 'Deliver an event again',
        description:
          'Makes the delivery due now (delivered or failed ones too), retried on the usual schedule; it carries the same webhook-id, so a receiver that keeps ids sees a duplicate.',
        tags: ['webhooks'],
        params: DeliveryParams,
        response: { 202: DeliveryShape, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const { projectId } = identityOf(request);
      const view = await redeliver(
        requireData(context),
        projectId,
        request.params.id,
        request.params.event_id,
      );
      return reply.code(202).send(deliveryJson(view));
    },
  );
}
