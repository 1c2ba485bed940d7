import type { FastifyRequest } from 'fastify';
import { ConnectrError } from '../../../core/errors.js';
import { listConnectionCallLogs } from '../../services/call-logs.js';
import type { Connection } from '../../services/connections.js';
import { CONNECTION_STATUSES, listConnections, requireConnection } from '../../services/connections.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { html } from '../../web/html.js';
import { field, sessionOf } from '../auth.js';
import { consolePage, dataTable, csrfField, statusBadge, when } from '../layout.js';

/**
 * The connections' pages: the project's connections, filtered by connector, status and user id
 * (a GET form, so a filtered list is a link), one connection with its call log a page at a time,
 * and its "Re-authorise" button, which asks for a sign-in link (CreateConnectLink) and sends the
 * browser there.
 */

/**
 * Where a connection is signed in again: the URL the browser is sent to. app.ts passes the
 * Connect page's session maker; without one, the OAuth sign-in of oauth/flow.ts.
 */
export type CreateConnectLink = (
  projectId: string,
  connectionId: string,
  request: FastifyRequest,
) => Promise<string>;

const PAGE = 50;
const LOG_PAGE = 25;
const text = (value: string | undefined, max = 200): string | undefined => {
  const trimmed = value?.trim();
  return trimmed ? trimmed.slice(0, max) : undefined;
};

function health(connection: Connection) {
  if (!connection.lastCheckedAt) return html`<span class="muted">not checked yet</span>`;
  return html`${connection.lastErrorCode === null && connection.lastError === null ? html`<span class="badge ok">healthy</span>` : html`<span class="badge error">${connection.lastErrorCode ?? 'failing'}</span>`}<br /><span
      class="muted"
      >checked ${when(connection.lastCheckedAt)}</span
    >`;
}

function reauthoriseForm(connection: Connection, csrf: string) {
  return html`<form
    method="post"
    action="/console/connections/${encodeURIComponent(connection.id)}/reauthorise"
  >
    ${csrfField(csrf)}<button type="submit" class="secondary" aria-label="Re-authorise ${connection.name}">
      Re-authorise
    </button>
  </form>`;
}

export function registerConnectionPages(
  app: App,
  context: RouteContext,
  createConnectLink: CreateConnectLink,
): void {
  app.get('/console/connections', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const connector = text(field(request.query, 'connector'));
    const userId = text(field(request.query, 'user_id'));
    const statusText = text(field(request.query, 'status'));
    const status = CONNECTION_STATUSES.find((s) => s === statusText);
    const cursor = text(field(request.query, 'cursor'), 400);
    const page = await listConnections(requireData(context), session.projectId, {
      connector,
      userId,
      status,
      limit: PAGE,
      cursor,
    });
    const registry = await context.deps.registry();
    const connectors = registry.connectors;
    const displayOf = (name: string): string => registry.get(name)?.displayName ?? name;
    const next = new URLSearchParams();
    if (connector) next.set('connector', connector);
    if (status) next.set('status', status);
    if (userId) next.set('user_id', userId);
    if (page.nextCursor) next.set('cursor', page.nextCursor);
    const rows = page.items.map(
      (c) =>
        html`<tr>
          <td>
            <a href="/console/connections/${encodeURIComponent(c.id)}">${c.name}</a><br /><span class="muted"
              >${c.id}</span
            >
          </td>
          <td>${displayOf(c.connector)}<br /><span class="muted">${c.connector}</span></td>
          <td>${c.userId ?? html`<span class="muted">—</span>`}</td>
          <td>${statusBadge(c.status)}</td>
          <td>${health(c)}</td>
          <td>${c.lastError ?? html`<span class="muted">—</span>`}</td>
          <td>${when(c.lastUsedAt)}</td>
          <td>${reauthoriseForm(c, session.csrf)}</td>
        </tr>`,
    );
    return consolePage(reply, 200, {
      title: 'Connections',
      section: '/console/connections',
      session,
      body: html`<h1>Connections</h1>
        <form
          class="filters card"
          method="get"
          action="/console/connections"
          role="search"
          aria-label="Filter connections"
        >
          <div>
            <label for="f-connector">Connector</label
            ><select id="f-connector" name="connector">
              <option value="">Any</option>
              ${connectors.map((c) => html`<option value="${c.name}" ${c.name === connector ? html` selected` : ''}>${c.displayName}</option>`)}
            </select>
          </div>
          <div>
            <label for="f-status">Status</label
            ><select id="f-status" name="status">
              <option value="">Any</option>
              ${CONNECTION_STATUSES.map((s) => html`<option${s === status ? html` selected` : ''}>${s}</option>`)}
            </select>
          </div>
          <div>
            <label for="f-user">User id</label><input id="f-user" name="user_id" value="${userId ?? ''}" />
          </div>
          <div class="actions"><button type="submit">Filter</button></div>
        </form>
        ${
          page.items.length === 0
            ? html`<p class="card">
                No connections${connector || status || userId ? ' match these filters' : ' yet'}.
              </p>`
            : dataTable(
                'Connections',
                ['Name', 'Connector', 'User id', 'Status', 'Health', 'Last error', 'Last call', ''],
                rows,
              )
        }
        ${page.nextCursor ? html`<p><a href="/console/connections?${next.toString()}">Next page</a></p>` : ''}`,
    });
  });

  app.get('/console/connections/:id', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const id = (request.params as { id: string }).id;
    const data = requireData(context);
    const connection = await requireConnection(data, session.projectId, id);
    const cursor = text(field(request.query, 'cursor'), 400);
    const log = await listConnectionCallLogs(data, session.projectId, id, { limit: LOG_PAGE, cursor });
    const calls = log.rows.map(
      (row) =>
        html`<tr>
          <td>${when(row.at)}</td>
          <td>${row.kind}</td>
          <td>${row.endpoint ?? `${row.method ?? ''} ${row.path ?? ''}`}</td>
          <td>${row.status ?? html`<span class="muted">—</span>`}</td>
          <td>${row.durationMs} ms</td>
          <td>${row.errorCode ?? ''}</td>
        </tr>`,
    );
    return consolePage(reply, 200, {
      title: connection.name,
      section: '/console/connections',
      session,
      body: html`<p><a href="/console/connections">← Connections</a></p>
        <h1>${connection.name}</h1>
        <div class="card">
          <dl class="facts">
            <dt>Id</dt>
            <dd>${connection.id}</dd>
            <dt>Connector</dt>
            <dd>${connection.connector} (version ${connection.connectorVersion})</dd>
            <dt>User id</dt>
            <dd>${connection.userId ?? '—'}</dd>
            <dt>Account</dt>
            <dd>${connection.accountIdentity ?? '—'}</dd>
            <dt>Status</dt>
            <dd>${statusBadge(connection.status)}</dd>
            <dt>Health</dt>
            <dd>${health(connection)}</dd>
            <dt>Last error</dt>
            <dd>${connection.lastError ?? '—'}</dd>
            <dt>Last call</dt>
            <dd>${when(connection.lastUsedAt)}</dd>
            <dt>Last refresh</dt>
            <dd>${when(connection.lastRefreshAt)}</dd>
          </dl>
          ${reauthoriseForm(connection, session.csrf)}
        </div>
        <h2>Calls</h2>
        ${
          log.rows.length === 0
            ? html`<p class="card">No calls recorded${cursor ? ' before these' : ''}.</p>`
            : dataTable(
                `Calls of ${connection.name}`,
                ['When', 'Kind', 'Endpoint', 'Status', 'Duration', 'Error'],
                calls,
              )
        }
        ${log.nextCursor ? html`<p><a href="/console/connections/${encodeURIComponent(id)}?cursor=${encodeURIComponent(log.nextCursor)}">Older calls</a></p>` : ''}`,
    });
  });

  app.post('/console/connections/:id/reauthorise', { schema: { hide: true } }, async (request, reply) => {
    const session = sessionOf(request);
    const id = (request.params as { id: string }).id;
    const connection = await requireConnection(requireData(context), session.projectId, id);
    const url = await createConnectLink(session.projectId, id, request);
    if (!/^https?:\/\//i.test(url))
      throw new ConnectrError('internal', 'the sign-in link is not an http(s) URL');
    const target = new URL(url);
    // A form may only lead to this server (form-action 'self', which browsers apply to the
    // redirect too): a page of ours is a redirect, a provider's is a link to follow.
    if (target.host === request.host) return reply.redirect(url, 303);
    return consolePage(reply, 200, {
      title: 'Re-authorise',
      section: '/console/connections',
      session,
      body: html`<h1>Re-authorise ${connection.name}</h1>
        <div class="card">
          <p>A new sign-in was started; it is valid for a few minutes.</p>
          <p><a class="button" href="${url}" rel="noreferrer">Continue to sign in at ${target.host}</a></p>
        </div>`,
    });
  });
}
