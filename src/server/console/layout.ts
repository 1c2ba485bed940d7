import type { FastifyReply } from 'fastify';
import type { Html, HtmlValue } from '../web/html.js';
import { html } from '../web/html.js';
import { page, sendPage } from '../web/page.js';

/**
 * The console's page shell: a skip link, the site header with its navigation (the names people
 * and tests find the pages by) and a sign-out form, then the page's own content.
 */

export const NAV = [
  { path: '/console/connections', name: 'Connections' },
  { path: '/console/keys', name: 'API keys' },
  { path: '/console/oauth-apps', name: 'OAuth apps' },
  { path: '/console/webhooks', name: 'Webhooks' },
  { path: '/console/metrics', name: 'Metrics' },
] as const;

export type Section = (typeof NAV)[number]['path'];

export interface Signed {
  readonly csrf: string;
}

/** The hidden field every form of a signed-in page carries. */
export function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="csrf" value="${csrf}" />`;
}

export function consolePage(
  reply: FastifyReply,
  status: number,
  options: {
    title: string;
    section: Section | undefined;
    session: Signed;
    body: HtmlValue;
    scripts?: readonly string[];
  },
): FastifyReply {
  const nav = NAV.map(
    (item) =>
      html`<li>
        <a href="${item.path}" ${item.path === options.section ? html` aria-current="page"` : ''}
          >${item.name}</a
        >
      </li>`,
  );
  const body = html`<a class="skip-link" href="#main">Skip to content</a>
    <header class="site">
      <a class="brand" href="/console/connections">connectr console</a>
      <nav aria-label="Console">
        <ul>
          ${nav}
        </ul>
      </nav>
      <form class="sign-out" method="post" action="/console/sign-out">
        ${csrfField(options.session.csrf)}<button type="submit" class="secondary">Sign out</button>
      </form>
    </header>
    <main id="main">${options.body}</main>`;
  return sendPage(
    reply,
    status,
    page({
      title: `${options.title} · connectr console`,
      body,
      bodyClass: 'console',
      scripts: options.scripts ?? ['console.js'],
    }),
  );
}

/** A page without the navigation: the sign-in form, a refused request. */
export function plainPage(reply: FastifyReply, status: number, title: string, body: HtmlValue): FastifyReply {
  return sendPage(
    reply,
    status,
    page({
      title: `${title} · connectr console`,
      bodyClass: 'console',
      body: html`<main id="main" class="narrow">${body}</main>`,
    }),
  );
}

/** A time as people read it, in UTC; a dash for none. */
export function when(date: Date | null | undefined): string {
  return date ? `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—';
}

export function statusBadge(status: string): Html {
  const kind =
    status === 'connected' || status === 'delivered' || status === 'active'
      ? 'ok'
      : status === 'pending'
        ? 'warn'
        : 'error';
  return html`<span class="badge ${kind}">${status}</span>`;
}

/**
 * A table of the pages' lists: scrolls sideways inside its frame on a narrow screen; a header
 * given as '' is the actions column, named for screen readers only.
 */
export function dataTable(caption: string, headers: readonly string[], rows: HtmlValue): Html {
  const heads = headers.map((h) =>
    h === ''
      ? html`<th scope="col"><span class="visually-hidden">Actions</span></th>`
      : html`<th scope="col">${h}</th>`,
  );
  return html`<div class="table-wrap">
    <table>
      <caption class="visually-hidden">
        ${caption}
      </caption>
      <thead>
        <tr>
          ${heads}
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}
