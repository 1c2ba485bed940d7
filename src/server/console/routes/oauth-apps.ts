import { ConnectrError } from '../../../core/errors.js';
import { deleteOAuthApp, listOAuthApps, saveOAuthApp } from '../../services/oauth-apps.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { html } from '../../web/html.js';
import type { Html } from '../../web/html.js';
import { field, sessionOf } from '../auth.js';
import { consolePage, csrfField, dataTable, when } from '../layout.js';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The project's OAuth apps, per OAuth connector: the client id shown, the secret never (only
 * whether one is saved); set (replace) and delete, over services/oauth-apps.ts.
 */

const MAX_FIELD = 4096;

export function registerOAuthAppPages(app: App, context: RouteContext): void {
  const show = async (request: FastifyRequest, reply: FastifyReply, status: number, notice?: Html) => {
    const session = sessionOf(request);
    const registry = await context.deps.registry();
    const oauth = registry.connectors.filter((c) => c.auth.type === 'oauth2');
    const saved = new Map(
      (await listOAuthApps(requireData(context), session.projectId)).map((a) => [a.connector, a]),
    );
    const rows = oauth.map((c) => {
      const app = saved.get(c.name);
      return html`<tr>
        <td>${c.displayName}<br /><span class="muted">${c.name}</span></td>
        <td>
          ${app ? html`<code>${app.clientId}</code>` : html`<span class="muted">not set (the server's environment, if any)</span>`}
        </td>
        <td>${app ? (app.hasClientSecret ? 'saved (hidden)' : 'none') : '—'}</td>
        <td>${app ? when(app.updatedAt) : '—'}</td>
        <td>
          ${app ? html`<form method="post" action="/console/oauth-apps/${encodeURIComponent(c.name)}/delete">${csrfField(session.csrf)}<button type="submit" class="secondary" aria-label="Delete the OAuth app of ${c.displayName}">Delete</button></form>` : ''}
        </td>
      </tr>`;
    });
    return consolePage(reply, status, {
      title: 'OAuth apps',
      section: '/console/oauth-apps',
      session,
      body: html`<h1>OAuth apps</h1>
        ${notice ?? ''}
        ${dataTable('OAuth apps per connector', ['Connector', 'Client id', 'Client secret', 'Updated', ''], rows)}
        <h2>Set an OAuth app</h2>
        <form class="card" method="post" action="/console/oauth-apps">
          ${csrfField(session.csrf)}
          <label for="app-connector">Connector</label>
          <select id="app-connector" name="connector" required>
            ${oauth.map((c) => html`<option value="${c.name}">${c.displayName}</option>`)}
          </select>
          <label for="app-client-id">Client id</label>
          <input id="app-client-id" name="client_id" required maxlength="${MAX_FIELD}" autocomplete="off" />
          <label for="app-client-secret">Client secret</label>
          <input
            id="app-client-secret"
            name="client_secret"
            type="password"
            maxlength="${MAX_FIELD}"
            autocomplete="off"
          />
          <p class="field-help">
            Replaces the saved app. Leave the secret empty for a public client. It is never shown again.
          </p>
          <div class="actions"><button type="submit">Save OAuth app</button></div>
        </form>`,
    });
  };

  app.get('/console/oauth-apps', { schema: { hide: true } }, (request, reply) => show(request, reply, 200));

  app.post('/console/oauth-apps', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const registry = await context.deps.registry();
    const name = field(request.body, 'connector') ?? '';
    const connector = registry.get(name);
    const clientId = (field(request.body, 'client_id') ?? '').trim();
    const secret = field(request.body, 'client_secret') ?? '';
    const refuse = (message: string) =>
      show(request, reply, 400, html`<p class="alert error" role="alert">${message}</p>`);
    if (connector?.auth.type !== 'oauth2') return refuse('Choose a connector that uses OAuth.');
    if (!clientId || clientId.length > MAX_FIELD || secret.length > MAX_FIELD)
      return refuse(`A client id is needed, and each field has at most ${MAX_FIELD} characters.`);
    try {
      await saveOAuthApp(requireData(context), session.projectId, {
        connector: connector.name,
        clientId,
        clientSecret: secret === '' ? undefined : secret,
      });
    } catch (error) {
      if (error instanceof ConnectrError && error.code === 'invalid_input') return refuse(error.message);
      throw error;
    }
    return show(
      request,
      reply,
      200,
      html`<p class="alert ok" role="status">Saved the OAuth app of ${connector.displayName}.</p>`,
    );
  });

  app.post('/console/oauth-apps/:connector/delete', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const name = (request.params as { connector: string }).connector;
    await deleteOAuthApp(requireData(context), session.projectId, name);
    return show(
      request,
      reply,
      200,
      html`<p class="alert ok" role="status">Deleted the OAuth app of ${name}.</p>`,
    );
  });
}
