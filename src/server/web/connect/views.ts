import type { Connector } from '../../../core/connector/model.js';
import type { Html, HtmlValue } from '../html.js';
import { html } from '../html.js';
import { page } from '../page.js';

/**
 * The Connect page's markup. Every value is escaped by `html` (display names, user ids, the
 * provider's words are hostile). Each page carries the token exchange (connect.js reads a
 * token in the address's fragment and posts it, so a newer link replaces an older one) and
 * works without JavaScript where it can: plain links and forms.
 */

const SCRIPT = ['connect.js'];

/** The end user as the page names them. */
export interface Visitor {
  readonly id: string;
  readonly email: string | null;
  readonly displayName: string | null;
}

/** The hidden form connect.js submits with a token found in the fragment. */
const exchange = html`<form id="connect-exchange" method="post" action="/connect/session" hidden>
  <input type="hidden" name="token" value="" />
</form>`;

function shell(title: string, body: HtmlValue): Html {
  return page({
    title: `${title} · connectr`,
    scripts: SCRIPT,
    bodyClass: 'connect',
    body: html`<main class="narrow" id="main">${body}</main>
      ${exchange}`,
  });
}

function who(visitor: Visitor): HtmlValue {
  const name = visitor.displayName ?? visitor.email ?? visitor.id;
  return html`<p class="muted connect-who">Connecting an account for <strong>${name}</strong></p>`;
}

const cancel = html`<p class="connect-cancel"><a href="/connect/cancel">Cancel</a></p>`;

/** GET /connect without a session yet: connect.js exchanges the fragment's token. */
export function openingPage(): Html {
  return shell(
    'Connect an account',
    html`<h1>Connect an account</h1>
      <div class="card">
        <p id="connect-opening">Opening your link…</p>
        <p id="connect-missing" hidden>
          This page opens from the link your app gives you. Go back to the app and start again.
        </p>
        <noscript
          ><p>This page needs JavaScript to read its link. Turn it on, or go back to the app.</p></noscript
        >
      </div>`,
  );
}

export function chooserPage(visitor: Visitor, connectors: readonly Connector[]): Html {
  const items = connectors.map(
    (c) => html`<li><a class="button" href="/connect/start/${c.name}">${c.displayName}</a></li> `,
  );
  return shell(
    'Connect an account',
    html`<h1>Connect an account</h1>
      ${who(visitor)}
      <nav aria-label="Services">
        <ul class="choices">
          ${items}
        </ul>
      </nav>
      ${cancel}`,
  );
}

/**
 * The one OAuth connector of a session: a link the script follows at once (the chooser is
 * skipped), or the user follows without JavaScript.
 */
export function continuePage(visitor: Visitor, connector: Connector): Html {
  return shell(
    `Connect ${connector.displayName}`,
    html`<h1>Connect ${connector.displayName}</h1>
      ${who(visitor)}
      <p>You will sign in at ${connector.displayName} and come back here.</p>
      <p>
        <a class="button" id="connect-continue" href="/connect/start/${connector.name}"
          >${connector.displayName}</a
        >
      </p>
      ${cancel}`,
  );
}

export interface FormState {
  /** The provider refused what was typed: its status and words. */
  readonly refused?: { readonly status: number; readonly said: string } | undefined;
  /** What was wrong with the form itself. */
  readonly problem?: string | undefined;
  /** The user name typed before (never the key or password). */
  readonly username?: string | undefined;
}

/** An API key's or a password's form: one labelled field per credential. */
export function secretForm(
  visitor: Visitor,
  connector: Connector,
  csrf: string,
  state: FormState = {},
): Html {
  const basic = connector.auth.type === 'basic';
  const fields = basic
    ? html`<label for="connect-username">Username</label>
        <input
          id="connect-username"
          name="username"
          autocomplete="username"
          required
          maxlength="4096"
          value="${state.username ?? ''}"
        />
        <label for="connect-password">Password</label>
        <input
          id="connect-password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          maxlength="4096"
        />`
    : html`<label for="connect-api-key">API key</label>
        <input
          id="connect-api-key"
          name="api_key"
          type="password"
          autocomplete="off"
          spellcheck="false"
          required
          maxlength="4096"
        />`;
  const what = basic ? 'user name and password' : 'API key';
  const alert = state.refused
    ? html`<div class="alert error" role="alert">
        <p>
          ${connector.displayName} refused this ${what} (HTTP ${state.refused.status}). Nothing was saved.
        </p>
        ${state.refused.said ? html`<p>${connector.displayName} said: <span class="connect-said">${state.refused.said}</span></p>` : ''}
      </div>`
    : state.problem
      ? html`<div class="alert error" role="alert"><p>${state.problem}</p></div>`
      : '';
  return shell(
    `Connect ${connector.displayName}`,
    html`<h1>Connect ${connector.displayName}</h1>
      ${who(visitor)} ${alert}
      <form class="card" method="post" action="/connect/start/${connector.name}">
        <input type="hidden" name="csrf" value="${csrf}" />
        ${fields}
        <p class="field-help">
          It is checked with ${connector.displayName} and stored encrypted; the app never sees it.
        </p>
        <div class="actions"><button type="submit">Connect</button></div>
      </form>
      ${cancel}`,
  );
}

/** A page that only says something: an expired link, a missing one, a failure. */
export function messagePage(title: string, lines: readonly string[]): Html {
  return shell(
    title,
    html`<h1>${title}</h1>
      <div class="card">${lines.map((line) => html`<p>${line}</p> `)}</div>`,
  );
}

export interface Outcome {
  readonly ok: boolean;
  readonly title: string;
  readonly lines: readonly string[];
  /** What a popup posts to its opener. */
  readonly message: Readonly<Record<string, string>>;
  /** The origins it is posted to (the project's allowed origins). */
  readonly origins: readonly string[];
  /** The app's return URL with the outcome, when the session has one. */
  readonly returnHref: string | undefined;
}

/**
 * The end: connect.js posts the outcome to the opener of a popup and closes it, else goes to
 * the return URL; without JavaScript, a link does.
 */
export function resultPage(outcome: Outcome): Html {
  return shell(
    outcome.title,
    html`<h1>${outcome.title}</h1>
      <div class="alert ${outcome.ok ? 'ok' : 'error'}" role="status">
        ${outcome.lines.map((line) => html`<p>${line}</p> `)}
      </div>
      <div
        id="connect-outcome"
        hidden
        data-message="${JSON.stringify(outcome.message)}"
        data-origins="${JSON.stringify(outcome.origins)}"
        data-return="${outcome.returnHref ?? ''}"
      ></div>
      ${
        outcome.returnHref
          ? html`<p><a class="button" href="${outcome.returnHref}">Back to the app</a></p>`
          : html`<p class="muted">You can close this window.</p>`
      }`,
  );
}
