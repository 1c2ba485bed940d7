import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { requireWebhook } from '../../services/webhooks.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { WebhookParams, WebhookShape, webhookJson } from './shape.js';

/** `GET /api/v1/webhooks/{id}`: one endpoint of the key's project (no secret); any other id is a 404. */
export function registerShowWebhook(app: App, context: RouteContext): void {
  app.get(
    '/api/v1/webhooks/:id',
    {
      schema: {
        summary: 'Get a webhook endpoint',
        tags: ['webhooks'],
        params: WebhookParams,
        response: { 200: WebhookShape, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      return webhookJson(await requireWebhook(requireData(context), projectId, request.params.id));
    },
  );
}
