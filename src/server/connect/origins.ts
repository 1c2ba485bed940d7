import { ConnectrError } from '../../core/errors.js';

/**
 * A project's allowed origins (PUT /connect/settings): where the Connect page may send the
 * browser back, post its outcome to and be framed by. Each is an exact origin, as browsers
 * write it (scheme://host[:port], no path, no trailing slash): https, or http for a loopback
 * host only, where a development app runs.
 */

export const MAX_ALLOWED_ORIGINS = 50;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why `value` is not an origin the page may trust, or undefined when it is one. */
export function originProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not an origin (scheme://host[:port])`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `"${value}" is not an http(s) origin`;
  if (url.origin !== value)
    return `"${value}" is not written as an exact origin: write "${url.origin}" (no path, query or trailing slash)`;
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname))
    return `"${value}" uses http: only https origins are allowed, or http on 127.0.0.1, localhost or [::1]`;
  return undefined;
}

/**
 * The origin of `returnUrl` when the project allows it; else a 400 naming the origin and the
 * call that allows it.
 */
export function requireAllowedReturn(returnUrl: string, allowed: readonly string[]): string {
  const origin = new URL(returnUrl).origin;
  if (allowed.includes(origin)) return origin;
  throw new ConnectrError(
    'invalid_input',
    `return_url's origin ${origin} is not among this project's allowed origins${allowed.length ? ` (${allowed.join(', ')})` : ' (none set)'}`,
    {
      details: [`body.return_url: origin ${origin} is not allowed`],
      hint: `allow it with PUT /api/v1/connect/settings {"allowed_origins": [${[...allowed, origin].map((o) => JSON.stringify(o)).join(', ')}]}`,
    },
  );
}
