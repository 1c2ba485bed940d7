import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConnectrError } from '../../../core/errors.js';
import { createProjectKey, listProjectKeys, revokeProjectKey } from '../../services/console.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { html } from '../../web/html.js';
import { field, sessionOf } from '../auth.js';
import { consolePage, dataTable, csrfField, when } from '../layout.js';

/**
 * The project's API keys: list, create (the key shown on the answer's page, once: only its hash
 * is kept) and revoke, confirmed in a dialog (console.js) or, without JavaScript, on a page of
 * its own. A revoked key is refused from the next request, on every instance (services/console.ts).
 */

const keyPath = (id: string): string => `/console/keys/${encodeURIComponent(id)}/revoke`;

export function registerKeyPages(app: App, context: RouteContext): void {
  const listPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    notice?: ReturnType<typeof html>,
  ) => {
    const session = sessionOf(request);
    const keys = await listProjectKeys(requireData(context), session.projectId);
    const rows = keys.map(
      (k) =>
        html`<tr>
          <td>${k.name}</td>
          <td><code>cnr_${k.prefix}_…</code></td>
          <td>${k.scope}</td>
          <td>${when(k.createdAt)}</td>
          <td>${when(k.lastUsedAt)}</td>
          <td>
            ${
              k.revokedAt
                ? html`<span class="badge error">revoked ${when(k.revokedAt)}</span>`
                : html`<span class="badge ok">active</span>`
            }
          </td>
          <td>
            ${
              k.revokedAt
                ? ''
                : html`<form
                    method="get"
                    action="${keyPath(k.id)}"
                    class="revoke"
                    data-key-name="${k.name}"
                    data-action="${keyPath(k.id)}"
                  >
                    <button type="submit" class="danger" aria-label="Revoke ${k.name}">Revoke</button>
                  </form>`
            }
          </td>
        </tr>`,
    );
    return consolePage(reply, status, {
      title: 'API keys',
      section: '/console/keys',
      session,
      body: html`<h1>API keys</h1>
        ${notice ?? ''}
        <form class="card" method="post" action="/console/keys">
          ${csrfField(session.csrf)}
          <label for="key-name">Name</label>
          <input id="key-name" name="name" required maxlength="200" autocomplete="off" />
          <p class="field-help">
            What the key is for (a service, a CI job). The key is shown once, on the next page.
          </p>
          <div class="actions"><button type="submit">Create key</button></div>
        </form>
        ${
          keys.length === 0
            ? html`<p class="card">This project has no API keys.</p>`
            : dataTable('API keys', ['Name', 'Prefix', 'Scope', 'Created', 'Last used', 'State', ''], rows)
        }
        <dialog id="revoke-dialog" aria-labelledby="revoke-title">
          <form method="post" action="/console/keys/-/revoke">
            ${csrfField(session.csrf)}
            <h2 id="revoke-title">Revoke key <span data-name></span>?</h2>
            <p>Requests with it get 401 at once. This cannot be undone.</p>
            <div class="actions">
              <button type="submit" class="danger">Revoke</button
              ><button type="button" class="secondary" data-close>Cancel</button>
            </div>
          </form>
        </dialog>`,
    });
  };

  app.get('/console/keys', { schema: { hide: true } }, (request, reply) => listPage(request, reply, 200));

  app.post('/console/keys', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const name = field(request.body, 'name') ?? '';
    if (!name.trim()) {
      return listPage(request, reply, 400, html`<p class="alert error" role="alert">A key needs a name.</p>`);
    }
    const key = await createProjectKey(requireData(context), session.projectId, name);
    return listPage(
      request,
      reply,
      201,
      html`<div class="alert ok" role="status">
        <p>Created API key “${key.name}”. Copy it now: it is shown only this once.</p>
        <p class="secret" id="new-key" aria-label="The new API key">${key.secret}</p>
      </div>`,
    );
  });

  app.get('/console/keys/:id/revoke', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const id = (request.params as { id: string }).id;
    const key = (await listProjectKeys(requireData(context), session.projectId)).find((k) => k.id === id);
    if (!key) throw new ConnectrError('not_found', 'no such API key in this project');
    return consolePage(reply, 200, {
      title: 'Revoke key',
      section: '/console/keys',
      session,
      body: html`<h1>Revoke key “${key.name}”?</h1>
        <form class="card" method="post" action="${keyPath(key.id)}">
          ${csrfField(session.csrf)}
          <p>Requests with <code>cnr_${key.prefix}_…</code> get 401 at once. This cannot be undone.</p>
          <div class="actions">
            <button type="submit" class="danger">Revoke</button
            ><a class="button secondary" href="/console/keys">Cancel</a>
          </div>
        </form>`,
    });
  });

  app.post('/console/keys/:id/revoke', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const id = (request.params as { id: string }).id;
    const key = await revokeProjectKey(requireData(context), session.projectId, id);
    return listPage(
      request,
      reply,
      200,
      html`<p class="alert ok" role="status">Revoked API key “${key.name}”.</p>`,
    );
  });
}
