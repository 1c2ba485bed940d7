import * as z from 'zod';
import { identityOf } from '../../plugins/auth.js';
import { COMMON_ERRORS } from '../../errors.js';
import { listWebhooks } from '../../services/webhooks.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { WebhookShape, webhookJson } from './shape.js';

/** `GET /api/v1/webhooks`: the key's project's endpoints, oldest first (no secrets). */
export function registerListWebhooks(app: App, context: RouteContext): void {
  app.get(
    '/api/v1/webhooks',
    {
      schema: {
        summary: 'List webhook endpoints',
        tags: ['webhooks'],
        response: { 200: z.object({ webhooks: z.array(WebhookShape) }), ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId } = identityOf(request);
      return { webhooks: (await listWebhooks(requireData(context), projectId)).map(webhookJson) };
    },
  );
}
