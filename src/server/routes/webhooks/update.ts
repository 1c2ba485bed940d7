import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { updateWebhook } from '../../services/webhooks.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { WebhookInput, WebhookParams, WebhookShape, webhookJson } from './shape.js';

const PatchBody = z.strictObject({
  url: WebhookInput.url.optional(),
  events: WebhookInput.events.optional(),
  description: WebhookInput.description.optional(),
  disabled: z
    .boolean()
    .optional()
    .describe('false enables an endpoint again (after a 410 Gone); its waiting deliveries go out.'),
});

/** `PATCH /api/v1/webhooks/{id}`: changes the fields given; the secret is changed by rotate-secret. */
export function registerUpdateWebhook(app: App, context: RouteContext): void {
  app.patch(
    '/api/v1/webhooks/:id',
    {
      schema: {
        summary: 'Change a webhook endpoint',
        tags: ['webhooks'],
        params: WebhookParams,
        body: PatchBody,
        response: { 200: WebhookShape, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      const { url, events, description, disabled } = request.body;
      const row = await updateWebhook(requireData(context), projectId, request.params.id, {
        url,
        events: events === undefined ? undefined : [...new Set(events)],
        description,
        disabled,
      });
      return webhookJson(row);
    },
  );
}
