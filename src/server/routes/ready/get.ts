import * as z from 'zod';
import { ErrorEnvelopeSchema } from '../../errors.js';
import { probeReadiness } from '../../services/readiness.js';
import type { App, RouteContext } from '../../types.js';

const Ready = z.object({ status: z.literal('ready') });

/**
 * `GET /ready`: the database answers and its migrations are applied, so a load balancer may
 * send traffic; a 503 otherwise, within the time limit (services/readiness.ts).
 */
export function registerReady(app: App, { deps }: RouteContext, timeoutMs: number): void {
  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: the database answers and is migrated',
        tags: ['operations'],
        security: [],
        response: { 200: Ready, 503: ErrorEnvelopeSchema },
      },
    },
    async () => {
      await probeReadiness(deps.readiness, timeoutMs);
      return { status: 'ready' as const };
    },
  );
}
