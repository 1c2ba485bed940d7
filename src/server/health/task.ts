import type { ServerData } from '../contracts.js';
import { HEALTH_LOCK_KEY, connectionsDue } from '../store/connection-health.js';
import { exclusiveRound, startRounds } from '../rounds.js';
import type { Connection } from '../store/connections.js';
import { guard } from '../store/open.js';
import { CHECK_FAILED } from '../../core/calls/health.js';
import { DAY_MS, RECENT_USE_MS, checkConnection, refreshAheadMs } from './check.js';
import type { HealthDeps } from './check.js';

/**
 * The daemon's health task: every CONNECTR_HEALTH_INTERVAL_MS, one round over the connections
 * due (health/check.ts for each), one instance at a time (rounds.ts).
 */

/** The most connections one round looks at; the rest wait for the next, the longest unchecked first. */
const ROUND_LIMIT = 100;

export interface HealthTaskOptions {
  /** Told of a round that failed (the database was away…); the next tick tries again. */
  readonly onError: (error: unknown) => void;
}

/** One round now; resolves when done (false when another instance holds the round). */
export function healthRound(deps: HealthDeps): Promise<boolean> {
  return exclusiveRound(deps.data, HEALTH_LOCK_KEY, () => checkDue(deps));
}

async function checkDue(deps: HealthDeps): Promise<void> {
  const now = deps.now();
  const due = await dueConnections(deps.data, now, deps.everyMs);
  for (const connection of due) {
    if (deps.signal?.aborted) return;
    const unused = connection.lastUsedAt === null || now - connection.lastUsedAt.getTime() >= DAY_MS;
    await checkConnection(deps, connection, unused);
  }
}

function dueConnections(data: ServerData, now: number, everyMs: number): Promise<Connection[]> {
  return guard(data.database, () =>
    connectionsDue(
      data.db,
      {
        usedSince: new Date(now - RECENT_USE_MS),
        expiringBefore: new Date(now + refreshAheadMs(everyMs)),
        retryAfter: new Date(now - Math.min(refreshAheadMs(everyMs) / 2, DAY_MS)),
        dailyBefore: new Date(now - DAY_MS),
        limit: ROUND_LIMIT,
      },
      CHECK_FAILED,
    ),
  );
}

/**
 * Starts the task (every 0 ms: off); the function returned stops it: a check in progress is
 * abandoned, and the round ends before the promise resolves.
 */
export function startHealthTask(
  given: Omit<HealthDeps, 'signal'>,
  options: HealthTaskOptions,
): () => Promise<void> {
  return startRounds(given.everyMs, (signal) => healthRound({ ...given, signal }), options.onError);
}
