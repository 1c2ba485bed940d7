import type { ServerData } from '../contracts.js';
import { startRounds } from '../rounds.js';
import { purgeConnectSessions } from '../store/connect-sessions.js';
import { purgeOAuthSessions } from '../store/oauth-sessions.js';

/**
 * The daemon's sweep of finished browser sign-ins: every `everyMs`, the sessions that expired
 * or were used more than SESSION_KEEP_MS ago are deleted, so a stream of sign-ins nobody
 * completes does not grow the table for good. Every instance on a shared database runs its own
 * sweep; they cannot conflict (a row another deleted is not found). Timed by rounds.ts (the
 * timer never keeps the process alive, a sweep never overlaps the previous one, a failed one is
 * reported and tried again at the next tick).
 */

/** How often the daemon sweeps, by default. */
export const SIGN_IN_PURGE_EVERY_MS = 10 * 60_000;

export interface SignInPurgeOptions {
  readonly everyMs: number;
  /** The server's clock (ms since the epoch). */
  readonly now: () => number;
  /** Told of a sweep that failed (the database was away…); the next tick tries again. */
  readonly onError: (error: unknown) => void;
}

/** Starts the sweep; the function returned stops it (the app calls it on close). */
export function startSignInPurge(data: ServerData, options: SignInPurgeOptions): () => Promise<void> {
  return startRounds(
    options.everyMs,
    async () => {
      await purgeOAuthSessions(data.db, new Date(options.now()));
      // Connect sessions too, a day after they expired (docs/connect.md).
      await purgeConnectSessions(data.db, new Date(options.now() - 24 * 60 * 60_000));
    },
    options.onError,
  );
}
