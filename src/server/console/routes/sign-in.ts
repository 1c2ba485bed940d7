import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { html } from '../../web/html.js';
import { consoleSession, exchangeConsoleLink, signInWithKey, signOut } from '../../services/console.js';
import {
  clearSessionCookie,
  CsrfRefused,
  field,
  SESSION_COOKIE,
  setSessionCookie,
  signInToken,
  signInTokenMatches,
} from '../auth.js';
import { plainPage } from '../layout.js';

/**
 * Signing in and out: GET /console (the form, or on to the pages when signed in), POST
 * /console/sign-in (an API key of the project, typed once), GET /console/link (a `serve
 * console` link, exchanged once for the same cookie, then a redirect that leaves the token out of
 * the address bar), POST /console/sign-out.
 */

export const OPEN_ROUTES = ['GET /console', 'POST /console/sign-in', 'GET /console/link'] as const;

function signInForm(token: string, error?: string) {
  return html`<h1>connectr console</h1>
    ${error === undefined ? '' : html`<div class="alert error" role="alert">${error}</div>`}
    <form class="card" method="post" action="/console/sign-in">
      <input type="hidden" name="csrf" value="${token}" />
      <label for="api_key">API key</label>
      <input id="api_key" name="api_key" type="password" autocomplete="off" required spellcheck="false" />
      <p class="field-help">
        A key of the project, as made by <code>connectr serve keys create</code>. Or run
        <code>connectr serve console</code> on the server's machine.
      </p>
      <div class="actions"><button type="submit">Sign in</button></div>
    </form>`;
}

export function registerSignIn(app: App, context: RouteContext): void {
  const now = () => new Date((context.deps.now ?? Date.now)());
  app.get('/console', { schema: { hide: true } }, async (request, reply) => {
    const session = await consoleSession(requireData(context), request.cookies[SESSION_COOKIE], now());
    if (session) return reply.redirect('/console/connections', 303);
    return plainPage(reply, 200, 'Sign in', signInForm(signInToken(request, reply)));
  });

  app.post('/console/sign-in', { schema: { hide: true } }, async (request, reply) => {
    // The scope's error handler answers 403 with the refusal page.
    if (!signInTokenMatches(request, field(request.body, 'csrf'))) throw new CsrfRefused('sign-in token');
    const key = field(request.body, 'api_key') ?? '';
    const session = await signInWithKey(requireData(context), context.deps.apiKeys, key, now());
    if (!session) {
      return plainPage(
        reply,
        401,
        'Sign in',
        signInForm(
          signInToken(request, reply),
          'That API key is not valid here (unknown, revoked, or not a project key).',
        ),
      );
    }
    setSessionCookie(request, reply, session.token);
    return reply.redirect('/console/connections', 303);
  });

  app.get('/console/link', { schema: { hide: true } }, async (request, reply) => {
    const token = field(request.query, 'token') ?? '';
    const session = await exchangeConsoleLink(requireData(context), token, now());
    if (!session) {
      return plainPage(
        reply,
        400,
        'Link expired',
        html`<h1>This sign-in link cannot be used</h1>
          <p class="alert error" role="alert">
            It was used already, has expired (links last a minute), or is not one of this server's.
          </p>
          <p>
            Run <code>connectr serve console</code> again, or <a href="/console">sign in with an API key</a>.
          </p>`,
      );
    }
    setSessionCookie(request, reply, session.token);
    return reply.redirect('/console/connections', 303);
  });

  app.post('/console/sign-out', { schema: { hide: true } }, async (request, reply) => {
    await signOut(requireData(context), request.cookies[SESSION_COOKIE]);
    clearSessionCookie(request, reply);
    return reply.redirect('/console', 303);
  });
}
