import type { FastifyBaseLogger } from 'fastify';
import { systemClock } from '../../core/clock.js';
import type { ServerData, ServerDeps } from '../contracts.js';
import { loggedFault } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { settingsOf } from '../settings.js';
import { RateLimitService } from './service.js';

/** The app's rate-limit service: the server's clock, the cache time, faults to the log. */
export function rateLimitService(
  deps: ServerDeps,
  data: ServerData,
  metrics: Metrics,
  log: FastifyBaseLogger,
): RateLimitService {
  const now = deps.now;
  return new RateLimitService(data, metrics, {
    clock: now ? { now, sleep: (ms, signal) => systemClock.sleep(ms, signal) } : systemClock,
    ttlMs: settingsOf(deps).CONNECTR_CACHE_MS,
    onError: (error, what) => {
      log.warn({ err: loggedFault(error) }, `rate limits: ${what} failed`);
    },
  });
}
