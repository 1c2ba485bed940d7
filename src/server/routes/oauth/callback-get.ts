import type { FastifyReply } from 'fastify';
import * as z from 'zod';
import { isConnectrError } from '../../../core/errors.js';
import { httpStatusFor } from '../../errors.js';
import { sendErrorPage, sendRedirect, sendSuccessPage } from '../../oauth/pages.js';
import { providerError, returnUrlWith } from '../../oauth/return-url.js';
import type { Outcome } from '../../oauth/return-url.js';
import { SessionRefused, completeSignIn, consumeSignIn, recordRefusal } from '../../services/sign-in.js';
import type { Connection, OAuthSession } from '../../services/sign-in.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { NO_NUL } from '../../input.js';
import { flowDeps } from './deps.js';
import { CALLBACK_PATH } from './urls.js';

/** The provider's words: bounded, without a NUL (they may reach last_error; pages escape the rest). */
const text = (what: string, max: number) =>
  z
    .string()
    .max(max)
    .regex(NO_NUL, { message: `${what} must not contain a NUL character` })
    .optional();
/** The code and the state are visible ASCII (RFC 6749 Appendix A); empty is answered by the page. */
const ascii = (what: string, max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[\x20-\x7e]*$/, { message: `${what} is visible ASCII (RFC 6749 Appendix A)` })
    .optional();

const CallbackQuery = z.object({
  code: ascii('code', 4096).describe('The authorization code (RFC 6749 §4.1.2).'),
  state: ascii('state', 512).describe('The state POST /oauth/authorize returned.'),
  error: text('error', 256).describe(
    "The provider's error code, when the user or the provider refused (RFC 6749 §4.1.2.1).",
  ),
  error_description: text('error_description', 2048),
  error_uri: text('error_uri', 2048),
  // Providers add their own parameters (scope, authuser, prompt, iss…): accepted, not used.
});

/** A browser's page status for a failed sign-in: 4xx/5xx as the error says, never 401 (no API key is involved). */
function pageStatus(error: unknown): number {
  if (!isConnectrError(error)) return 500;
  const status = httpStatusFor(error.code);
  return status === 401 || status === 404 ? 400 : status;
}

/**
 * `GET /api/v1/oauth/callback`: where the provider sends the browser (PUBLIC: no API key; the
 * state is the credential). Consumes the session once, exchanges the code with its PKCE
 * verifier, stores the tokens. With a return URL, the browser always goes back to it with the
 * outcome (`connection_id` and `status=connected`, or `status=error&error=<code>`); without one,
 * or when the state finds no sign-in, it sees a plain page. Nothing the provider or the browser
 * sent (code, state, the provider's text) is put in the return URL; page text is escaped.
 */
export function registerOAuthCallbackPage(app: App, context: RouteContext): void {
  app.get(
    CALLBACK_PATH,
    {
      // No HEAD twin: a link preview or prefetch must not use up the sign-in.
      exposeHeadRoute: false,
      schema: {
        summary: 'OAuth redirect target (browser)',
        description:
          'The provider redirects the browser here with code and state. Answers with a redirect to the return URL, with connection_id and status=connected, or status=error and error=<code>; without a return URL, an HTML page. No API key: the state identifies the sign-in.',
        tags: ['oauth'],
        querystring: CallbackQuery.loose(),
      },
    },
    async (request, reply) => {
      const data = requireData(context);
      const deps = flowDeps(context, request.log);
      const { code, state, error } = request.query;
      if (!state) {
        return sendErrorPage(reply, 400, [
          'This address was opened without the state of a sign-in (the provider always sends one back).',
        ]);
      }
      let session: OAuthSession;
      try {
        session = await consumeSignIn(data, state);
      } catch (failure) {
        if (!isConnectrError(failure)) throw failure;
        const found = failure instanceof SessionRefused ? failure.session : undefined;
        if (found?.returnUrl && failure instanceof SessionRefused) {
          const refused = failure.reason === 'expired' ? 'expired' : 'already_used';
          return sendRedirect(
            reply,
            returnUrlWith(found.returnUrl, {
              status: 'error',
              error: refused,
              connectionId: found.connectionId,
            }),
          );
        }
        return sendErrorPage(reply, pageStatus(failure), [failure.message]);
      }
      const back = (outcome: Outcome): FastifyReply | undefined =>
        session.returnUrl ? sendRedirect(reply, returnUrlWith(session.returnUrl, outcome)) : undefined;
      if (error !== undefined) {
        const description = request.query.error_description;
        const said = `the provider answered ${error}${description ? `: ${description}` : ''}`;
        await recordRefusal(deps, session, said);
        return (
          back({ status: 'error', error: providerError(error), connectionId: session.connectionId }) ??
          sendErrorPage(reply, 400, [
            error === 'access_denied' ? 'The sign-in was not approved.' : 'The provider refused the sign-in.',
            `The provider said: ${error}${description ? ` (${description})` : ''}`,
          ])
        );
      }
      if (!code) {
        return (
          back({ status: 'error', error: 'missing_code', connectionId: session.connectionId }) ??
          sendErrorPage(reply, 400, ['The provider sent neither a code nor an error.'])
        );
      }
      let connection: Connection;
      try {
        connection = await completeSignIn(deps, await context.deps.registry(), session, code);
      } catch (failure) {
        if (!isConnectrError(failure)) throw failure;
        const failed = failure.code === 'not_found' ? 'connection_deleted' : 'exchange_failed';
        return (
          back({ status: 'error', error: failed, connectionId: session.connectionId }) ??
          sendErrorPage(reply, pageStatus(failure), [failure.message])
        );
      }
      const done = back({ status: 'connected', connectionId: connection.id });
      if (done) return done;
      const who = connection.accountIdentity ? ` (${connection.accountIdentity})` : '';
      return sendSuccessPage(reply, `Your ${connection.connector} account${who}`);
    },
  );
}
