import * as z from 'zod';
import { COMMON_ERRORS } from '../../errors.js';
import { METRICS_CONTENT_TYPE } from '../../metrics.js';
import type { App, RouteContext } from '../../types.js';

/**
 * `GET /metrics`: Prometheus text format 0.0.4. It needs an API key like every route the
 * issue does not name as public: the numbers are aggregated over every project of the server,
 * so a scraper gets a key of its own (Prometheus: `authorization: { credentials: <key> }`).
 */
export function registerMetrics(app: App, { metrics }: RouteContext): void {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics: requests, latency, upstream statuses, token refreshes',
        tags: ['operations'],
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: z.string() } },
          },
          ...COMMON_ERRORS,
        },
      },
    },
    async (_request, reply) => {
      await reply.type(METRICS_CONTENT_TYPE).send(metrics.render());
    },
  );
}
