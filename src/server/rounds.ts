import type { Dispatcher } from 'undici';
import type { Registry } from '../core/connector/registry.js';
import type { Env } from '../core/paths.js';
import type { ServerData } from './contracts.js';
import { countedRefresh } from './credentials/source.js';
import type { DatabaseCredentialDeps } from './credentials/source.js';
import { tryAdvisoryLock } from './store/advisory-lock.js';
import { guard } from './store/open.js';
import type { RouteContext } from './types.js';
import { requireData } from './types.js';

/**
 * The daemon's background tasks (health checks, subscription renewal): a round every `everyMs`,
 * run by one instance at a time. On PostgreSQL a transaction-scoped advisory lock, tried without
 * waiting, is held for the round, so instances sharing a database neither wait for nor repeat
 * each other; PGlite has one process. The timer never keeps the process alive, a round never
 * overlaps the previous one, and a failed round is reported and tried again at the next tick.
 */

/** Runs `work` unless another instance holds `lockKey`; false when it did. */
export async function exclusiveRound(
  data: ServerData,
  lockKey: number,
  work: () => Promise<void>,
): Promise<boolean> {
  if (data.database.backend === 'pglite') {
    await work();
    return true;
  }
  return guard(data.database, () =>
    data.db.transaction(async (tx) => {
      if (!(await tryAdvisoryLock(tx, lockKey))) return false;
      // The lock's transaction idles while the round uses the pool's other connections.
      await work();
      return true;
    }),
  );
}

/**
 * Starts rounds every `everyMs` (0: never); the function returned stops them: `round`'s signal
 * aborts the one in progress, which ends before the promise resolves.
 */
export function startRounds(
  everyMs: number,
  round: (signal: AbortSignal) => Promise<unknown>,
  onError: (error: unknown) => void,
): () => Promise<void> {
  if (everyMs <= 0) return () => Promise.resolve();
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = round(stop.signal)
      .then(() => undefined, onError)
      .finally(() => {
        running = undefined;
      });
  }, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    stop.abort();
    await running;
  };
}

/** What a task needs to call connections' APIs outside a request, as execute does. */
export interface TaskDeps {
  readonly data: ServerData;
  readonly env: Env;
  readonly registry: () => Promise<Registry>;
  /** The upstream pool execute uses. */
  readonly dispatcher: Dispatcher;
  readonly now: () => number;
  readonly onRefresh?: DatabaseCredentialDeps['onRefresh'];
  /** Abandons the work in progress (the task stopping). */
  readonly signal?: AbortSignal | undefined;
}

/** The task dependencies of the app behind `context`, each refresh counted in /metrics as a call's is. */
export function taskDeps(context: RouteContext): TaskDeps {
  return {
    data: requireData(context),
    env: context.deps.env ?? {},
    registry: context.deps.registry,
    dispatcher: context.upstream,
    now: context.deps.now ?? Date.now,
    onRefresh: countedRefresh(context),
  };
}
