import fastifyCookie from '@fastify/cookie';
import fastifyFormBody from '@fastify/formbody';
import type { FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { loggedFault } from '../errors.js';
import { toAnswer } from '../plugins/errors.js';
import type { App } from '../types.js';

/** Largest form a page accepts (a sign-in's key, a filter, a key's name: far less). */
export const MAX_FORM_BYTES = 64 * 1024;

/**
 * Registers a family of pages in a scope of its own: forms (application/x-www-form-urlencoded)
 * and cookies are read there only, so the API's routes keep refusing form bodies (415) and
 * pay nothing for cookie parsing.
 */
export function webScope(app: App, routes: (scope: App) => void): void {
  void app.register(async (scope) => {
    await scope.register(fastifyFormBody, { bodyLimit: MAX_FORM_BYTES });
    await scope.register(fastifyCookie);
    routes(scope.withTypeProvider<ZodTypeProvider>());
  });
}

/** What a page says of a failure: its status, and lines for the person reading it. */
export interface PageFault {
  readonly status: number;
  readonly lines: readonly string[];
}

/**
 * A failure of a page's request, mapped the way the API maps it (plugins/errors.ts toAnswer):
 * a form too large is a 413, a malformed one a 400, a ConnectrError its code's status. Only a
 * fault of the server's own (5xx) is logged, and its words stay in the log.
 */
export function pageFault(error: unknown, request: FastifyRequest, what: string): PageFault {
  const answer = toAnswer(error, MAX_FORM_BYTES, request.headers['content-type'], request.id);
  if (answer.status >= 500) {
    request.log.error({ err: loggedFault(error) }, `${what} failed`);
    return { status: answer.status, lines: ["Something went wrong on our side; the server's log says why."] };
  }
  const { message, hint } = answer.body.error;
  return { status: answer.status, lines: hint === undefined ? [message] : [message, hint] };
}
