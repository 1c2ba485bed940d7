import { ConnectrError, isConnectrError, messageOf } from '../../core/errors.js';
import type { Readiness } from '../contracts.js';
import { DATABASE_UNREACHABLE, DatabaseUnavailable } from '../store/outage.js';

/**
 * Whether the server can answer: the database answers and its migrations are applied, within
 * `timeoutMs` (a database that hangs is "not ready", not a hung probe). Whatever the store
 * threw is an `unavailable`; its words (where the database is) go to the log only, since anyone
 * may ask.
 */
export async function probeReadiness(readiness: Readiness, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        new ConnectrError('unavailable', `not ready: the database did not answer within ${timeoutMs} ms`),
      );
    }, timeoutMs);
  });
  try {
    await Promise.race([readiness.ready(), late]);
  } catch (error) {
    if (isConnectrError(error) && error.code === 'unavailable') throw error;
    throw new DatabaseUnavailable(`not ready: ${messageOf(error)}`, DATABASE_UNREACHABLE, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
