import type { ErrorCode } from '../core/errors.js';

/** The CLI's exit codes, documented in docs/cli.md. Scripts depend on them: never renumber. */
export const EXIT = {
  ok: 0,
  input: 1,
  usage: 2,
  auth: 3,
  upstream: 4,
  unavailable: 5,
  /** 128 + SIGINT, as shells report an interrupted command. */
  cancelled: 130,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'usage':
      return EXIT.usage;
    case 'auth_required':
    case 'auth_expired':
    case 'needs_reauth':
    case 'refreshed_token_rejected':
      return EXIT.auth;
    case 'upstream':
    case 'follow_refused':
      return EXIT.upstream;
    case 'unavailable':
    case 'timeout':
      return EXIT.unavailable;
    case 'cancelled':
      return EXIT.cancelled;
    case 'invalid_input':
    case 'invalid_connector':
    case 'not_found':
    case 'internal':
      return EXIT.input;
  }
}
