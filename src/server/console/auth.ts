import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConnectrError } from '../../core/errors.js';
import type { ConsoleSession } from '../services/console.js';
import { CONSOLE_SESSION_MS, consoleSession, sameToken } from '../services/console.js';
import type { RouteContext } from '../types.js';
import { requireData } from '../types.js';

/**
 * Who is signed in to the console, and the checks every console request passes: a live session
 * cookie (else the sign-in page), and on every POST the session's CSRF token in the form (else
 * 403, nothing changed). The sign-in form itself is guarded by a double-submit token: a random
 * cookie the form repeats, so another site cannot sign a browser in to its own project.
 */

export const SESSION_COOKIE = 'connectr_console';
export const SIGN_IN_COOKIE = 'connectr_console_signin';
export const COOKIE_PATH = '/console';

const sessions = new WeakMap<FastifyRequest, ConsoleSession>();

/** The session a console route runs for (set by the scope's hook). */
export function sessionOf(request: FastifyRequest): ConsoleSession {
  const session = sessions.get(request);
  if (!session) throw new ConnectrError('internal', 'no console session on this request');
  return session;
}

function cookieOptions(request: FastifyRequest, maxAgeSeconds: number) {
  return {
    path: COOKIE_PATH,
    httpOnly: true,
    sameSite: 'strict' as const,
    // request.protocol follows X-Forwarded-Proto only behind a trusted proxy (trustProxy).
    secure: request.protocol === 'https',
    maxAge: maxAgeSeconds,
  };
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
  void reply.setCookie(SESSION_COOKIE, token, cookieOptions(request, CONSOLE_SESSION_MS / 1000));
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, cookieOptions(request, 0));
}

/** The sign-in form's token: the cookie's when it has one, else a new one set now. */
export function signInToken(request: FastifyRequest, reply: FastifyReply): string {
  const current = request.cookies[SIGN_IN_COOKIE];
  if (current !== undefined && /^[A-Za-z0-9_-]{43}$/.test(current)) return current;
  const token = randomBytes(32).toString('base64url');
  void reply.setCookie(SIGN_IN_COOKIE, token, cookieOptions(request, 60 * 60));
  return token;
}

export function signInTokenMatches(request: FastifyRequest, given: unknown): boolean {
  const cookie = request.cookies[SIGN_IN_COOKIE];
  return cookie !== undefined && sameToken(cookie, given);
}

/** A form's text field (the first, when repeated); undefined when absent. */
export function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, name)) return undefined;
  const value: unknown = (body as Record<string, unknown>)[name];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

export class CsrfRefused extends Error {}

/**
 * The console's guard: routes listed as open (the sign-in form, its POST, the link exchange)
 * pass; others need a live session: a GET without one is sent to sign in, a POST refused.
 * Every POST with a session must carry its CSRF token.
 */
export function consoleGuard(context: RouteContext, open: ReadonlySet<string>) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    if (open.has(route)) return undefined;
    const now = new Date((context.deps.now ?? Date.now)());
    const session = await consoleSession(requireData(context), request.cookies[SESSION_COOKIE], now);
    if (!session) {
      if (request.method === 'GET' || request.method === 'HEAD') {
        return reply.redirect('/console', 303);
      }
      throw new CsrfRefused('not signed in');
    }
    if (request.method === 'POST' && !sameToken(session.csrf, field(request.body, 'csrf'))) {
      throw new CsrfRefused('missing or wrong CSRF token');
    }
    sessions.set(request, session);
    return undefined;
  };
}
