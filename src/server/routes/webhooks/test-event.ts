import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { sendTestEvent } from '../../services/webhooks.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { WebhookParams } from './shape.js';

/** `POST /api/v1/webhooks/{id}/test`: a webhook.test event to this endpoint alone, delivered as any other. */
export function registerTestWebhook(app: App, context: RouteContext): void {
  app.post(
    '/api/v1/webhooks/:id/test',
    {
      schema: {
        summary: 'Send a test event',
        description: 'Records a webhook.test event for this endpoint; GET …/deliveries shows how it went.',
        tags: ['webhooks'],
        params: WebhookParams,
        response: {
          202: z.object({ event_id: z.string().describe('`msg_…`: its webhook-id header.') }),
          404: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { projectId } = identityOf(request);
      const eventId = await sendTestEvent(requireData(context), projectId, request.params.id);
      return reply.code(202).send({ event_id: eventId });
    },
  );
}
