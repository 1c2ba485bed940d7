import * as z from 'zod';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { METRICS_CONTENT_TYPE } from '../../metrics.js';
import type { App, RouteContext } from '../../types.js';

/**
 * `GET /metrics`: Prometheus text format 0.0.4. The numbers are aggregated over every project
 * of the server, so it needs a key of the `metrics` scope (plugins/auth.ts), which reaches
 * nothing else: a scraper gets a key of its own, and no project's key reads the others'.
 */
export function registerMetrics(app: App, { metrics }: RouteContext): void {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics: requests, latency, upstream statuses, token refreshes',
        description:
          'Needs a key created with `connectr serve keys create --scope metrics`; a project key gets 403.',
        tags: ['operations'],
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: z.string() } },
          },
          403: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (_request, reply) => {
      await reply.type(METRICS_CONTENT_TYPE).send(metrics.render());
    },
  );
}
