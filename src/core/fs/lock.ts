import { join } from 'node:path';
import { ConnectrError, messageOf } from '../errors.js';
import { ensurePrivateDir } from './files.js';

/**
 * A lock shared by every connectr process on the machine, held while `fn` runs. Used where two
 * processes must not interleave: refreshing one account's token, rewriting a JSON store.
 * A lock left by a crashed process goes stale after `staleMs` and is taken over.
 */
export async function withLock<T>(
  locksDir: string,
  name: string,
  fn: () => Promise<T>,
  options: { waitMs?: number; staleMs?: number } = {},
): Promise<T> {
  await ensurePrivateDir(locksDir);
  const target = join(locksDir, name.replace(/[^A-Za-z0-9._-]/g, '_'));
  const waitMs = options.waitMs ?? 30_000;
  const minTimeout = 10;
  const maxTimeout = 100;
  let release: () => Promise<void>;
  try {
    // Loaded on first use: most commands never take a lock.
    const { default: lockfile } = await import('proper-lockfile');
    release = await lockfile.lock(target, {
      realpath: false,
      lockfilePath: `${target}.lock`,
      stale: options.staleMs ?? 15_000,
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
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
