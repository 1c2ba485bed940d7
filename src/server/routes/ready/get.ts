import * as z from 'zod';
import { ConnectrError, isConnectrError, messageOf } from '../../../core/errors.js';
import { ErrorEnvelopeSchema } from '../../errors.js';
import { DATABASE_UNREACHABLE, DatabaseUnavailable } from '../../store/outage.js';
import type { App, RouteContext } from '../../types.js';

const Ready = z.object({ status: z.literal('ready') });

/**
 * `GET /ready`: the database answers and its migrations are applied, so a load balancer may
 * send traffic. Bounded in time: a database that hangs is "not ready", not a hung probe.
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
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(
            new ConnectrError('unavailable', `not ready: the database did not answer within ${timeoutMs} ms`),
          );
        }, timeoutMs);
      });
      try {
        await Promise.race([deps.readiness.ready(), late]);
      } catch (error) {
        // Whatever the store threw, a probe gets a 503: "not ready" is the answer, not a bug.
        // Its words (where the database is) go to the log only: anyone may call /ready.
        if (isConnectrError(error) && error.code === 'unavailable') throw error;
        throw new DatabaseUnavailable(`not ready: ${messageOf(error)}`, DATABASE_UNREACHABLE, {
          cause: error,
        });
      } finally {
        clearTimeout(timer);
      }
      return { status: 'ready' as const };
    },
  );
}
