import { listDeliveries, listWebhooks, redeliver, requireWebhook } from '../../services/webhooks.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { html } from '../../web/html.js';
import type { Html } from '../../web/html.js';
import { sessionOf } from '../auth.js';
import { consolePage, dataTable, csrfField, statusBadge, when } from '../layout.js';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The project's webhook endpoints, and one endpoint's recent deliveries with "Redeliver" (services/webhooks.ts). */

const DELIVERIES = 50;

export function registerWebhookPages(app: App, context: RouteContext): void {
  app.get('/console/webhooks', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const endpoints = await listWebhooks(requireData(context), session.projectId);
    const rows = endpoints.map(
      (e) =>
        html`<tr>
          <td>
            <a href="/console/webhooks/${encodeURIComponent(e.id)}">${e.url}</a><br /><span class="muted"
              >${e.id}</span
            >
          </td>
          <td>${e.description ?? ''}</td>
          <td>
            ${e.disabledAt ? html`<span class="badge error">disabled</span> ${e.disabledReason ?? ''}` : html`<span class="badge ok">enabled</span>`}
          </td>
          <td>${when(e.createdAt)}</td>
        </tr>`,
    );
    return consolePage(reply, 200, {
      title: 'Webhooks',
      section: '/console/webhooks',
      session,
      body: html`<h1>Webhooks</h1>
        ${
          endpoints.length === 0
            ? html`<p class="card">
                No webhook endpoints. Create one with <code>POST /api/v1/webhooks</code>.
              </p>`
            : dataTable('Webhook endpoints', ['URL', 'Description', 'State', 'Created'], rows)
        }`,
    });
  });

  const endpointPage = async (request: FastifyRequest, reply: FastifyReply, id: string, notice?: Html) => {
    const session = sessionOf(request);
    const data = requireData(context);
    const endpoint = await requireWebhook(data, session.projectId, id);
    const deliveries = await listDeliveries(data, session.projectId, id, DELIVERIES);
    const rows = deliveries.map(
      ({ delivery: d, type }) =>
        html`<tr>
          <td>${type}<br /><span class="muted">${d.eventId}</span></td>
          <td>${statusBadge(d.state)}</td>
          <td>${d.attempts}</td>
          <td>${d.lastStatus ?? '—'}</td>
          <td>${when(d.lastAttemptAt)}</td>
          <td>
            <form
              method="post"
              action="/console/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(d.eventId)}/redeliver"
            >
              ${csrfField(session.csrf)}<button
                type="submit"
                class="secondary"
                aria-label="Redeliver ${type} ${d.eventId}"
              >
                Redeliver
              </button>
            </form>
          </td>
        </tr>`,
    );
    return consolePage(reply, 200, {
      title: 'Webhook endpoint',
      section: '/console/webhooks',
      session,
      body: html`<p><a href="/console/webhooks">← Webhooks</a></p>
        <h1>Webhook endpoint</h1>
        ${notice ?? ''}
        <div class="card">
          <dl class="facts">
            <dt>URL</dt>
            <dd>${endpoint.url}</dd>
            <dt>Id</dt>
            <dd>${endpoint.id}</dd>
            <dt>Description</dt>
            <dd>${endpoint.description ?? '—'}</dd>
          </dl>
        </div>
        <h2>Recent deliveries</h2>
        ${
          deliveries.length === 0
            ? html`<p class="card">No deliveries yet.</p>`
            : dataTable(
                'Recent deliveries',
                ['Event', 'State', 'Attempts', 'Last status', 'Last attempt', ''],
                rows,
              )
        }`,
    });
  };

  app.get('/console/webhooks/:id', { schema: { hide: true } }, (request, reply) =>
    endpointPage(request, reply, (request.params as { id: string }).id),
  );

  app.post(
    '/console/webhooks/:id/deliveries/:event/redeliver',
    { schema: { hide: true } },
    async (request, reply) => {
      const session = sessionOf(request);
      const { id, event } = request.params as { id: string; event: string };
      await redeliver(
        requireData(context),
        session.projectId,
        id,
        event,
        new Date((context.deps.now ?? Date.now)()),
      );
      return endpointPage(
        request,
        reply,
        id,
        html`<p class="alert ok" role="status">Event ${event} queued for delivery again.</p>`,
      );
    },
  );
}
