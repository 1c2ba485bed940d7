import type { FastifyRequest } from 'fastify';
import { ConnectrError } from '../../core/errors.js';
import { createSession } from '../connect/sessions.js';
import { requireConnection } from '../services/connections.js';
import { CONNECT_PATH } from '../routes/connect/sessions.js';
import type { PublicAddress } from '../routes/oauth/urls.js';
import { serverBaseUrl } from '../routes/oauth/urls.js';
import type { App, RouteContext } from '../types.js';
import { requireData } from '../types.js';
import { html } from '../web/html.js';
import { pageFault, webScope } from '../web/scope.js';
import { consoleGuard, CsrfRefused } from './auth.js';
import { plainPage } from './layout.js';
import type { CreateConnectLink } from './routes/connections.js';
import { registerConnectionPages } from './routes/connections.js';
import { registerKeyPages } from './routes/keys.js';
import { registerMetricsPage } from './routes/metrics.js';
import { registerOAuthAppPages } from './routes/oauth-apps.js';
import { OPEN_ROUTES, registerSignIn } from './routes/sign-in.js';
import { registerWebhookPages } from './routes/webhooks.js';

export type { CreateConnectLink } from './routes/connections.js';

/**
 * The admin console (/console): server-rendered pages over the services, in a scope of their
 * own (web/scope.ts) where forms and cookies are read, every request passes the console's
 * guard (auth.ts), and a failure is a page, never the API's JSON or a stack trace.
 */

export interface ConsoleOptions {
  readonly address: PublicAddress;
  readonly maxPendingSignIns: number;
  /** How "Re-authorise" makes its link; default: a Connect page for the connection (connectPageLink). */
  readonly createConnectLink?: CreateConnectLink | undefined;
}

/**
 * "Re-authorise" makes a Connect session for the connection (connect/sessions.ts), as an app
 * would for its user: the Connect page signs it in again, with OAuth or a new key or password,
 * and keeps its user id and tags. The page is labelled with the connection's user id, else its
 * name.
 */
export function connectPageLink(context: RouteContext, options: ConsoleOptions): CreateConnectLink {
  return async (projectId: string, connectionId: string, request: FastifyRequest) => {
    const data = requireData(context);
    const connection = await requireConnection(data, projectId, connectionId);
    const base = serverBaseUrl(request, options.address);
    if (base === undefined)
      throw new ConnectrError(
        'invalid_input',
        'this server does not know its own address for the Connect page',
        {
          hint: 'start the server with --public-url https://your-host',
        },
      );
    const { token } = await createSession(
      data,
      await context.deps.registry(),
      projectId,
      { endUser: { id: connection.userId ?? connection.name }, connectionId },
      new Date((context.deps.now ?? Date.now)()),
    );
    return `${base}${CONNECT_PATH}#${token}`;
  };
}

export function registerConsole(app: App, context: RouteContext, options: ConsoleOptions): void {
  if (!context.deps.data) return;
  webScope(app, (scope) => {
    scope.addHook('preHandler', consoleGuard(context, new Set(OPEN_ROUTES)));
    scope.setErrorHandler((error, request, reply) => {
      if (error instanceof CsrfRefused) {
        return plainPage(
          reply,
          403,
          'Refused',
          html`<h1>Refused</h1>
            <p class="alert error" role="alert">
              This request did not carry the console's security token (or you are signed out). Nothing was
              changed.
            </p>
            <p><a href="/console">Back to the console</a></p>`,
        );
      }
      const { status, lines } = pageFault(error, request, 'a console page');
      return plainPage(
        reply,
        status,
        'Error',
        html`<h1>${status === 404 ? 'Not found' : 'That did not work'}</h1>
          <p class="alert error" role="alert">${lines[0]}</p>
          ${lines.slice(1).map((line) => html`<p class="muted">${line}</p>`)}
          <p><a href="/console">Back to the console</a></p>`,
      );
    });
    registerSignIn(scope, context);
    registerConnectionPages(scope, context, options.createConnectLink ?? connectPageLink(context, options));
    registerKeyPages(scope, context);
    registerOAuthAppPages(scope, context);
    registerWebhookPages(scope, context);
    registerMetricsPage(scope, context);
  });
}
