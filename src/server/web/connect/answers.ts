import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Opened } from '../../connect/visit.js';
import { returnUrlWith } from '../../oauth/return-url.js';
import type { Outcome as ReturnOutcome } from '../../oauth/return-url.js';
import type { ConnectSession } from '../../store/connect-sessions.js';
import type { Html } from '../html.js';
import type { Outcome, Visitor } from './views.js';
import { messagePage } from './views.js';

/**
 * What the Connect page's routes answer with, apart from the routes themselves: the pages of a
 * link that opens nothing, the form's CSRF token, a typed secret's checks, and the outcome told
 * to the app.
 */

/** Thrown inside a handler to answer with a page. */
export class PageAnswer extends Error {
  constructor(
    readonly status: number,
    readonly markup: Html,
  ) {
    super(`a page answered ${status}`);
  }
}

export const missing = (): PageAnswer =>
  new PageAnswer(
    401,
    messagePage('This link is not open here', [
      'This page opens from the link your app gives you, in the browser that opened it.',
      'Go back to the app and start again.',
    ]),
  );

export function refused(opened: Opened): PageAnswer {
  switch (opened.kind) {
    case 'expired':
      return new PageAnswer(
        410,
        messagePage('This link has expired', [
          'A Connect link works for 30 minutes.',
          'Go back to the app and start again.',
        ]),
      );
    case 'used':
      return new PageAnswer(
        410,
        messagePage('This link has been used', [
          'A Connect link connects one account, once.',
          'Go back to the app if you want to connect another.',
        ]),
      );
    default:
      return new PageAnswer(
        404,
        messagePage('This link is not valid', [
          'It may have been copied only in part.',
          'Go back to the app and start again.',
        ]),
      );
  }
}

/** The form's CSRF token: derived from the session's own token, so only its holder can make it. */
export function csrfOf(token: string): string {
  return createHmac('sha256', token).update('connect-form').digest('base64url');
}

export function sameCsrf(token: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const expected = Buffer.from(csrfOf(token));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function visitorOf(session: ConnectSession): Visitor {
  return { id: session.endUserId, email: session.endUserEmail, displayName: session.endUserDisplayName };
}

/** Why a typed secret cannot be one, in the page's words; undefined when it can. */
export function secretProblem(value: string, label: string): string | undefined {
  if (value === '') return `${label} is required.`;
  if (value.length > 4096) return `${label} has at most 4096 characters.`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f-\x9f]/.test(value)) return `${label} must not contain control characters.`;
  return undefined;
}

/** A user name shown back in the form: bounded, without control characters. */
export function clean(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\x00-\x1f\x7f-\x9f]/g, '').slice(0, 4096);
}

export function outcomeFor(
  session: ConnectSession,
  origins: readonly string[],
  outcome: ReturnOutcome,
  what?: string,
): Outcome {
  const ok = outcome.status === 'connected';
  return {
    ok,
    title: ok ? 'Connected' : outcome.error === 'cancelled' ? 'Cancelled' : 'Not connected',
    lines: ok
      ? [`${what ?? 'Your account'} is connected.`]
      : outcome.error === 'cancelled'
        ? ['Nothing was connected.']
        : [`The account was not connected (${outcome.error}).`, 'Go back to the app and try again.'],
    message: ok
      ? { type: 'connectr:connected', connection_id: outcome.connectionId }
      : { type: 'connectr:error', error: outcome.error },
    origins,
    returnHref: session.returnUrl === null ? undefined : returnUrlWith(session.returnUrl, outcome),
  };
}
