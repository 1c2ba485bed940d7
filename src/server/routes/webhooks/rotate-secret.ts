import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { rotateWebhookSecret } from '../../services/webhooks.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { WebhookParams, WebhookWithSecret, webhookJson } from './shape.js';

/** `POST /api/v1/webhooks/{id}/rotate-secret`: a new secret, shown once; the old one signs beside it for 24 h. */
export function registerRotateWebhookSecret(app: App, context: RouteContext): void {
  app.post(
    '/api/v1/webhooks/:id/rotate-secret',
    {
      schema: {
        summary: "Rotate a webhook endpoint's secret",
        description:
          'The answer carries the new secret (shown only this once). For 24 hours deliveries carry two signatures, one with each secret, so a receiver can switch without losing any.',
        tags: ['webhooks'],
        params: WebhookParams,
        response: { 200: WebhookWithSecret, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const made = await rotateWebhookSecret(requireData(context), projectId, request.params.id);
      return { ...webhookJson(made.endpoint), secret: made.secret };
    },
  );
}
