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
    case 'forbidden':
      return EXIT.auth;
    case 'upstream':
    case 'follow_refused':
    case 'refreshed_token_rejected':
      return EXIT.upstream;
    case 'unavailable':
    case 'timeout':
    case 'too_many_sign_ins':
    case 'rate_limited':
      return EXIT.unavailable;
    case 'cancelled':
      return EXIT.cancelled;
    case 'invalid_input':
    case 'invalid_connector':
    case 'not_found':
    case 'conflict':
    case 'payload_too_large':
    case 'not_acceptable':
    case 'internal':
      return EXIT.input;
  }
}
