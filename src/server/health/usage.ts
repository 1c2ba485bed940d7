import type { ServerData } from '../contracts.js';
import type { Connection } from '../store/connections.js';
import { markConnectionUsed } from '../store/connection-health.js';
import { guard } from '../store/open.js';
import { LAST_USED_EVERY_MS } from '../cache/usage-marks.js';

/**
 * connections.last_used_at without a cost on the request path: each instance writes it at most
 * once per connection per LAST_USED_EVERY_MS, remembered in memory, and the write is not awaited
 * by the call that caused it. The health task only needs to know a connection was used in the
 * last day or month, so minutes late is exact enough.
 */

/** Records a use of `connection` at `now` (ms): a map look-up, and now and then a write nobody waits for. */
export function noteUse(data: ServerData, connection: Connection, now: number): void {
  const key = `${connection.projectId}\n${connection.id}`;
  // The row as read (through the cache) may already say so: another instance wrote it lately.
  const stored = connection.lastUsedAt?.getTime();
  if (stored !== undefined && now - stored < LAST_USED_EVERY_MS) return;
  if (!data.caches.usage.due(key, now)) return;
  guard(data.database, () =>
    markConnectionUsed(data.db, connection.projectId, connection.id, new Date(now), LAST_USED_EVERY_MS),
  ).catch(() => {
    // Best effort: the next use tries again (a database away is already reported by the call).
    data.caches.usage.forget(key);
  });
}
