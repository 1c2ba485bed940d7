import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS } from '../../errors.js';
import { createWebhook } from '../../services/webhooks.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { WebhookInput, WebhookWithSecret, webhookJson } from './shape.js';

const CreateBody = z.strictObject({
  url: WebhookInput.url,
  events: WebhookInput.events.optional(),
  description: WebhookInput.description.optional(),
});

/** `POST /api/v1/webhooks`: a new endpoint of the key's project; its secret is in this answer only. */
export function registerCreateWebhook(app: App, context: RouteContext): void {
  app.post(
    '/api/v1/webhooks',
    {
      schema: {
        summary: 'Create a webhook endpoint',
        description:
          'Body {"url", "events"?, "description"?}. The url is https://, or http:// to a loopback address. The answer carries the signing secret (whsec_…), shown only this once.',
        tags: ['webhooks'],
        body: CreateBody,
        response: { 201: WebhookWithSecret, ...COMMON_ERRORS },
      },
    },
    async (request, reply) => {
      const { projectId } = identityOf(request);
      const { url, events, description } = request.body;
      const made = await createWebhook(requireData(context), projectId, {
        url,
        events: [...new Set(events ?? [])],
        description: description ?? null,
      });
      return reply.code(201).send({ ...webhookJson(made.endpoint), secret: made.secret });
    },
  );
}
