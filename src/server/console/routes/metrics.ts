import { projectSummary } from '../../services/console.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { html } from '../../web/html.js';
import { sessionOf } from '../auth.js';
import { barChart } from '../charts.js';
import { consolePage } from '../layout.js';

/**
 * The project's numbers of the last 24 hours: calls and failed calls per connector (the call
 * log), connections refreshed, and webhook deliveries by state (pending is the backlog). Taken
 * from the project's own rows, not /metrics, whose counters are every project's together.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

export function registerMetricsPage(app: App, context: RouteContext): void {
  app.get('/console/metrics', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const now = (context.deps.now ?? Date.now)();
    const summary = await projectSummary(requireData(context), session.projectId, new Date(now - DAY_MS));
    const total = summary.calls.reduce((sum, c) => sum + c.calls, 0);
    const failed = summary.calls.reduce((sum, c) => sum + c.errors, 0);
    const backlog = summary.deliveries.find((d) => d.state === 'pending')?.count ?? 0;
    return consolePage(reply, 200, {
      title: 'Metrics',
      section: '/console/metrics',
      session,
      body: html`<h1>Metrics</h1>
        <p class="muted">
          This project, over the last 24 hours: ${total} calls, ${failed} of them failed. Webhook deliveries
          waiting: ${backlog}.
        </p>
        <div class="charts">
          ${barChart(
            'calls',
            'Calls per connector',
            summary.calls.map((c) => ({ label: c.connector, value: c.calls })),
            'Calls',
          )}
          ${barChart(
            'errors',
            'Failed calls per connector',
            summary.calls.map((c) => ({ label: c.connector, value: c.errors, error: true })),
            'Failed calls',
          )}
          ${barChart(
            'refreshes',
            'Connections refreshed per connector',
            summary.refreshes.map((r) => ({ label: r.connector, value: r.count })),
            'Connections',
          )}
          ${barChart(
            'deliveries',
            'Webhook deliveries by state',
            summary.deliveries.map((d) => ({ label: d.state, value: d.count, error: d.state === 'failed' })),
            'Deliveries',
          )}
        </div>`,
    });
  });
}
