import { join } from 'node:path';
import { ConnectrError, messageOf } from '../errors.js';
import { ensurePrivateDir } from './files.js';

/**
 * What the holder of a lock can ask while it works. A lock whose holder stops updating it (it
 * crashed, or was paused: Ctrl-Z, SIGSTOP, a sleeping laptop) goes stale after `staleMs` and
 * another process may take it over; the paused holder, once running again, must not act as if
 * it still held it. `lost` says so: the lock was reported compromised, or so much time has
 * passed since it was taken that another process may have taken it over.
 */
export interface LockLease {
  lost(): boolean;
}

/** The default time after which a lock no one updates is taken over. */
export const DEFAULT_STALE_MS = 15_000;

/**
 * A lock shared by every connectr process on the machine, held while `fn` runs. Used where two
 * processes must not interleave: refreshing one account's token, rewriting a JSON store.
 * A lock left by a crashed process goes stale after `staleMs` (at least 2 s) and is taken over;
 * `fn` gets a lease that tells it when it may have lost the lock that way.
 */
export async function withLock<T>(
  locksDir: string,
  name: string,
  fn: (lease: LockLease) => Promise<T>,
  options: { waitMs?: number; staleMs?: number } = {},
): Promise<T> {
  await ensurePrivateDir(locksDir);
  const target = join(locksDir, name.replace(/[^A-Za-z0-9._-]/g, '_'));
  const waitMs = options.waitMs ?? 30_000;
  const minTimeout = 10;
  const maxTimeout = 100;
  // proper-lockfile never treats a lock as stale sooner than 2 s.
  const staleMs = Math.max(options.staleMs ?? DEFAULT_STALE_MS, 2000);
  let compromised = false;
  let takenAt = 0;
  let release: () => Promise<void>;
  try {
    // Loaded on first use: most commands never take a lock.
    const { default: lockfile } = await import('proper-lockfile');
    release = await lockfile.lock(target, {
      realpath: false,
      lockfilePath: `${target}.lock`,
      stale: staleMs,
      // The default throws from a timer: an uncaught exception and a stack trace. Note it instead;
      // the holder checks its lease before acting.
      onCompromised: () => {
        compromised = true;
      },
      retries: {
        retries: Math.ceil(waitMs / ((minTimeout + maxTimeout) / 2)),
        minTimeout,
        maxTimeout,
        factor: 1.3,
      },
    });
  } catch (error) {
    throw new ConnectrError(
      'unavailable',
      `another connectr process holds the lock ${name}: ${messageOf(error)}`,
      {
        hint: `wait for it to finish; if none is running, delete ${target}.lock`,
      },
    );
  }
  takenAt = Date.now();
  // A lock is taken over only once its time-stamp is `staleMs` old; it was set when it was taken,
  // so until then (less a margin for clocks and file-system time-stamp precision) it is ours.
  const margin = Math.min(1000, staleMs / 4);
  const lease: LockLease = {
    lost() {
      return compromised || Date.now() - takenAt > staleMs - margin;
    },
  };
  try {
    return await fn(lease);
  } finally {
    await release().catch(() => undefined);
  }
}
