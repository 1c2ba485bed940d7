import fastifyCookie from '@fastify/cookie';
import fastifyFormBody from '@fastify/formbody';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
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
