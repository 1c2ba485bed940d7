import type { FastifyRequest } from 'fastify';
import { ConnectrError } from '../../core/errors.js';
import { httpStatusFor } from '../errors.js';
import { connectorOf } from '../services/connections.js';
import { startSignIn } from '../services/sign-in.js';
import { requireConnection } from '../services/connections.js';
import { requireConnector } from '../routes/connectors/name.js';
import { flowDeps } from '../routes/oauth/deps.js';
import type { PublicAddress } from '../routes/oauth/urls.js';
import { defaultRedirectUri, serverBaseUrl } from '../routes/oauth/urls.js';
import type { App, RouteContext } from '../types.js';
import { requireData } from '../types.js';
import { html } from '../web/html.js';
import { webScope } from '../web/scope.js';
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
  /** How "Re-authorise" makes its link; default: the connection's OAuth sign-in (oauthSignInLink). */
  readonly createConnectLink?: CreateConnectLink | undefined;
}

/**
 * Re-authorising without the Connect page: a new OAuth sign-in of the connection through the
 * daemon's own callback, which comes back to the connection's console page. A connector signed
 * in with a key or a password has no such flow.
 */
export function oauthSignInLink(context: RouteContext, options: ConsoleOptions): CreateConnectLink {
  return async (projectId: string, connectionId: string, request: FastifyRequest) => {
    const registry = await context.deps.registry();
    const connection = await requireConnection(requireData(context), projectId, connectionId);
    const connector = connectorOf(registry, connection) ?? requireConnector(registry, connection.connector);
    if (connector.auth.type !== 'oauth2') {
      throw new ConnectrError(
        'invalid_input',
        `${connector.displayName} is signed in with ${connector.auth.type === 'none' ? 'no credential' : 'a key or password'}, not OAuth`,
        { hint: 'store a new credential with PUT /api/v1/connections/{id}/credentials' },
      );
    }
    const base = serverBaseUrl(request, options.address);
    const { started } = await startSignIn(
      flowDeps(context, request.log),
      (name) => requireConnector(registry, name),
      projectId,
      {
        connectionId,
        connector: undefined,
        redirectUri: defaultRedirectUri(request, options.address),
        returnUrl:
          base === undefined ? undefined : `${base}/console/connections/${encodeURIComponent(connectionId)}`,
        maxPending: options.maxPendingSignIns,
      },
      (c) => connectorOf(registry, c),
    );
    return started.authorizationUrl;
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
      const known = error instanceof ConnectrError && error.code !== 'internal';
      if (!known) request.log.error({ err: error }, 'a console page failed');
      const status = known ? httpStatusFor(error.code) : 500;
      return plainPage(
        reply,
        status,
        'Error',
        html`<h1>${status === 404 ? 'Not found' : 'That did not work'}</h1>
          <p class="alert error" role="alert">
            ${known ? error.message : 'The server could not do it; its log says why.'}
          </p>
          ${known && error.hint ? html`<p class="muted">${error.hint}</p>` : ''}
          <p><a href="/console">Back to the console</a></p>`,
      );
    });
    registerSignIn(scope, context);
    registerConnectionPages(scope, context, options.createConnectLink ?? oauthSignInLink(context, options));
    registerKeyPages(scope, context);
    registerOAuthAppPages(scope, context);
    registerWebhookPages(scope, context);
    registerMetricsPage(scope, context);
  });
}
