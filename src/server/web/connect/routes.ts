import type { FastifyReply, FastifyRequest } from 'fastify';
import * as z from 'zod';
import type { Connector } from '../../../core/connector/model.js';
import { allowedOrigins } from '../../connect/sessions.js';
import {
  connectWithSecret,
  finishConnectSignIn,
  offeredConnectors,
  openSession,
  startConnectSignIn,
} from '../../connect/visit.js';
import { ID_PATTERN } from '../../input.js';
import { providerError } from '../../oauth/return-url.js';
import type { ReturnError } from '../../oauth/return-url.js';
import { flowDeps } from '../../routes/oauth/deps.js';
import type { PublicAddress } from '../../routes/oauth/urls.js';
import { defaultRedirectUri, serverBaseUrl } from '../../routes/oauth/urls.js';
import { connectorOf } from '../../services/connections.js';
import type { ConnectSession } from '../../store/connect-sessions.js';
import { CONNECT_TOKEN_PATTERN } from '../../store/connect-sessions.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { Html } from '../html.js';
import { sendPage } from '../page.js';
import { pageFault, webScope } from '../scope.js';
import type { FormState } from './views.js';
import {
  PageAnswer,
  clean,
  csrfOf,
  missing,
  outcomeFor,
  refused,
  sameCsrf,
  secretProblem,
  visitorOf,
} from './answers.js';
import { chooserPage, continuePage, messagePage, openingPage, resultPage, secretForm } from './views.js';

/**
 * The Connect page (docs/connect.md): public routes under /connect that authenticate with the
 * session's token, which the browser holds in an HttpOnly cookie scoped to /connect (SameSite
 * Lax: it comes back with the provider's redirect; never sent to /api/v1). The token reaches
 * the daemon once, in the body of POST /connect/session: never in a path or query it logs.
 * Every answer is a page (a 4xx page for a link that is missing, unknown, expired or used),
 * never JSON nor a stack trace; framed only by the project's allowed origins.
 */

export const COOKIE = 'connectr_connect';
const COOKIE_PATH = '/connect';
/** Where the daemon's OAuth callback sends the browser back to. */
const DONE_PATH = '/connect/done';

/** Error codes /connect/done passes on; anything else arrives as provider_error. */
const OWN_ERRORS: readonly ReturnError[] = [
  'expired',
  'already_used',
  'missing_code',
  'exchange_failed',
  'connection_deleted',
  'provider_error',
];

/**
 * Who may frame the pages that belong to no project yet (the page before its token is
 * exchanged, a missing, unknown, expired or used link): anyone, as they hold no action and no
 * data, so an app can frame the link it was given; every page of a session, only the project's
 * allowed origins.
 */
const ANYWHERE: readonly string[] = ['*'];

interface Context extends RouteContext {
  readonly address: PublicAddress;
  readonly maxPending: number;
}

const ConnectorPath = z.object({
  name: z
    .string()
    .max(64)
    .regex(/^[a-z][a-z0-9_-]*$/),
});

export function registerConnectPages(
  app: App,
  base: RouteContext,
  address: PublicAddress,
  maxPending: number,
): void {
  const context: Context = { ...base, address, maxPending };
  webScope(app, (scope) => {
    const now = (): Date => new Date((context.deps.now ?? Date.now)());

    /** The page's session from its cookie, open; a PageAnswer otherwise. */
    const sessionOf = async (
      request: FastifyRequest,
    ): Promise<{ session: ConnectSession; token: string }> => {
      const token = request.cookies[COOKIE];
      if (!token) throw missing();
      const opened = await openSession(requireData(context), token, now());
      if (opened.kind !== 'open') throw refused(opened);
      return { session: opened.session, token };
    };

    /** Runs a page's handler: a PageAnswer or a ConnectrError becomes a page, never JSON or a trace. */
    const pageRoute =
      (
        handler: (
          request: FastifyRequest,
          reply: FastifyReply,
          frame: string[],
        ) => Promise<FastifyReply | Html>,
      ) =>
      async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
        const frame: string[] = [];
        try {
          const answer = await handler(request, reply, frame);
          // A reply is thenable: it is returned as it is, already sent.
          // eslint-disable-next-line @typescript-eslint/return-await
          return answer instanceof Html ? sendPage(reply, 200, answer, { frameAncestors: frame }) : answer;
        } catch (error) {
          if (error instanceof PageAnswer) {
            if (error.status === 410 || error.status === 404) clearCookie(reply);
            return sendPage(reply, error.status, error.markup, {
              frameAncestors: frame.length ? frame : ANYWHERE,
            });
          }
          const { status, lines } = pageFault(error, request, 'the Connect page');
          return sendPage(reply, status, messagePage('This did not work', lines), { frameAncestors: frame });
        }
      };

    const secure = (request: FastifyRequest): boolean =>
      request.protocol === 'https' || (serverBaseUrl(request, address)?.startsWith('https:') ?? false);

    const clearCookie = (reply: FastifyReply): void => {
      void reply.clearCookie(COOKIE, { path: COOKIE_PATH });
    };

    // The page as the link opens it: the script posts the fragment's token here.
    scope.get(
      '/connect',
      { schema: { hide: true } },
      pageRoute(async (request, reply, frame) => {
        if (!request.cookies[COOKIE])
          return sendPage(reply, 200, openingPage(), { frameAncestors: ANYWHERE });
        const { session, token } = await sessionOf(request);
        frame.push(...(await allowedOrigins(requireData(context), session.projectId)));
        const connectors = await offeredConnectors(
          requireData(context),
          await context.deps.registry(),
          session,
        );
        const visitor = visitorOf(session);
        const only = connectors.length === 1 ? connectors[0] : undefined;
        if (only && only.auth.type !== 'oauth2') return secretForm(visitor, only, csrfOf(token));
        if (only) return continuePage(visitor, only);
        if (connectors.length === 0)
          return messagePage('Nothing to connect', ['No service this link allows can be connected here.']);
        return chooserPage(visitor, connectors);
      }),
    );

    // The one-time exchange: the token from the body, for an HttpOnly cookie; then the page.
    scope.post(
      '/connect/session',
      { schema: { hide: true } },
      pageRoute(async (request, reply) => {
        // Only the page itself posts here: another site must not plant its session in a visitor's browser.
        const site = request.headers['sec-fetch-site'];
        if (site !== undefined && site !== 'same-origin')
          throw new PageAnswer(
            403,
            messagePage('This link is not open here', ['Open the link your app gave you.']),
          );
        const body = (request.body ?? {}) as Record<string, unknown>;
        const token = typeof body.token === 'string' ? body.token : '';
        if (!CONNECT_TOKEN_PATTERN.test(token)) throw refused({ kind: 'unknown' });
        const opened = await openSession(requireData(context), token, now());
        if (opened.kind !== 'open') throw refused(opened);
        void reply.setCookie(COOKIE, token, {
          path: COOKIE_PATH,
          httpOnly: true,
          sameSite: 'lax',
          secure: secure(request),
          expires: opened.session.expiresAt,
        });
        return reply.header('cache-control', 'no-store').redirect('/connect', 303);
      }),
    );

    /** The offered connector `name`, or a 404 page. */
    const offered = async (session: ConnectSession, name: string): Promise<Connector> => {
      const connectors = await offeredConnectors(
        requireData(context),
        await context.deps.registry(),
        session,
      );
      const found = connectors.find((c) => c.name === name);
      if (!found)
        throw new PageAnswer(
          404,
          messagePage('Not offered here', [
            'This link does not offer that service. Go back and pick another.',
          ]),
        );
      return found;
    };

    // A connector picked: OAuth goes to the provider (a GET that redirects: no form posts
    // off-site); an API key or a password gets its form.
    scope.get(
      '/connect/start/:name',
      { schema: { hide: true }, exposeHeadRoute: false },
      pageRoute(async (request, reply, frame) => {
        const { session, token } = await sessionOf(request);
        frame.push(...(await allowedOrigins(requireData(context), session.projectId)));
        const params = ConnectorPath.safeParse(request.params);
        const connector = await offered(session, params.success ? params.data.name : '');
        if (connector.auth.type !== 'oauth2') return secretForm(visitorOf(session), connector, csrfOf(token));
        const base = serverBaseUrl(request, address);
        const registry = await context.deps.registry();
        const url = await startConnectSignIn(
          flowDeps(context, request.log),
          registry,
          session,
          connector,
          {
            redirectUri: defaultRedirectUri(request, address),
            returnUrl: `${base ?? ''}${DONE_PATH}`,
            maxPending: context.maxPending,
          },
          (connection) => connectorOf(registry, connection),
        );
        return reply
          .header('cache-control', 'no-store')
          .header('referrer-policy', 'no-referrer')
          .redirect(url, 302);
      }),
    );

    // The form's answer: verified, then saved; a refusal shows the form again.
    scope.post(
      '/connect/start/:name',
      { schema: { hide: true } },
      pageRoute(async (request, reply, frame) => {
        const { session, token } = await sessionOf(request);
        const origins = await allowedOrigins(requireData(context), session.projectId);
        frame.push(...origins);
        const params = ConnectorPath.safeParse(request.params);
        const connector = await offered(session, params.success ? params.data.name : '');
        const body = (request.body ?? {}) as Record<string, unknown>;
        if (!sameCsrf(token, body.csrf))
          throw new PageAnswer(403, messagePage('This form has expired', ['Reload the page and try again.']));
        const visitor = visitorOf(session);
        const csrf = csrfOf(token);
        const text = (key: string): string => (typeof body[key] === 'string' ? body[key] : '');
        const again = (state: FormState, status = 400): FastifyReply =>
          sendPage(reply, status, secretForm(visitor, connector, csrf, state), { frameAncestors: frame });
        let secret: { api_key: string } | { username: string; password: string };
        if (connector.auth.type === 'basic') {
          const username = text('username');
          const password = text('password');
          const problem = secretProblem(username, 'Username') ?? secretProblem(password, 'Password');
          if (problem) return again({ problem, username: clean(username) });
          if (username.includes(':'))
            return again({ problem: 'A username cannot contain ":".', username: clean(username) });
          secret = { username, password };
        } else {
          const key = text('api_key');
          const problem = secretProblem(key, 'API key');
          if (problem) return again({ problem });
          secret = { api_key: key };
        }
        const done = await connectWithSecret(
          {
            data: requireData(context),
            env: context.deps.env ?? {},
            dispatcher: context.upstream,
            now: now(),
          },
          session,
          connector,
          secret,
        );
        if (done.kind === 'refused')
          return again(
            {
              refused: { status: done.verdict.status, said: done.verdict.said },
              ...('username' in secret ? { username: clean(secret.username) } : {}),
            },
            422,
          );
        clearCookie(reply);
        return resultPage(
          outcomeFor(
            session,
            origins,
            { status: 'connected', connectionId: done.connection.id },
            connector.displayName,
          ),
        );
      }),
    );

    // Where the daemon's OAuth callback sends the browser: the outcome, checked against this
    // session's own sign-ins, then told to the app.
    scope.get(
      DONE_PATH,
      { schema: { hide: true }, exposeHeadRoute: false },
      pageRoute(async (request, reply, frame) => {
        const query = request.query as Record<string, unknown>;
        const { session } = await sessionOf(request);
        const origins = await allowedOrigins(requireData(context), session.projectId);
        frame.push(...origins);
        const id = typeof query.connection_id === 'string' ? query.connection_id : '';
        if (query.status === 'connected' && id.length <= 64 && ID_PATTERN.test(id)) {
          if (await finishConnectSignIn(requireData(context), session, id, now())) {
            clearCookie(reply);
            return resultPage(outcomeFor(session, origins, { status: 'connected', connectionId: id }));
          }
        }
        const error = typeof query.error === 'string' ? query.error : 'provider_error';
        const code = (OWN_ERRORS as readonly string[]).includes(error)
          ? (error as ReturnError)
          : providerError(error);
        return resultPage(outcomeFor(session, origins, { status: 'error', error: code }));
      }),
    );

    // The user leaves without connecting: the app hears `cancelled`; the link stays usable.
    scope.get(
      '/connect/cancel',
      { schema: { hide: true }, exposeHeadRoute: false },
      pageRoute(async (request, _reply, frame) => {
        const { session } = await sessionOf(request);
        const origins = await allowedOrigins(requireData(context), session.projectId);
        frame.push(...origins);
        return resultPage(outcomeFor(session, origins, { status: 'error', error: 'cancelled' }));
      }),
    );
  });
}
