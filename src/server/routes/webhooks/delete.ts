import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { deleteWebhook } from '../../services/webhooks.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { WebhookParams } from './shape.js';

/** `DELETE /api/v1/webhooks/{id}`: the endpoint and its deliveries, pending ones included. */
export function registerDeleteWebhook(app: App, context: RouteContext): void {
  app.delete(
    '/api/v1/webhooks/:id',
    {
      schema: {
        summary: 'Delete a webhook endpoint',
        tags: ['webhooks'],
        params: WebhookParams,
        response: { 200: z.object({ deleted: z.literal(true) }), 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      await deleteWebhook(requireData(context), projectId, request.params.id);
      return { deleted: true as const };
    },
  );
}
