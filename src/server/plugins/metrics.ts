import type { Metrics } from '../metrics.js';
import type { App } from '../types.js';

/** Counts every answered request by route template, method and status, with its latency. */
export function installMetrics(app: App, metrics: Metrics): void {
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest(
      request.method,
      request.routeOptions.url,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
}
