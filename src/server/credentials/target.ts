import type { ServerData } from '../contracts.js';
import type { Connection } from '../store/connections.js';
import { requireConnection } from '../store/connections.js';
import type { StoredCredential } from '../store/credentials.js';
import { getCredential } from '../store/credentials.js';
import { guard } from '../store/open.js';
import { connectionKey as keyOf } from '../cache/invalidate.js';

/**
 * What a call through a connection needs from the database: the connection (404 when it is
 * not the project's) and its stored credential, read through the instance's cache
 * (cache/caches.ts). Whatever changes a connection or its credential on this instance calls
 * `forgetConnection` once the change is committed, which tells the other instances too.
 */
export interface CallTarget {
  readonly connection: Connection;
  readonly stored: StoredCredential<unknown> | undefined;
}

export function callTarget(data: ServerData, projectId: string, id: string): Promise<CallTarget> {
  return data.caches.connections.get(keyOf(projectId, id), () =>
    guard(data.database, async (): Promise<CallTarget> => {
      const connection = await requireConnection(data.db, projectId, id);
      const stored = await getCredential(data.db, data.keys, projectId, id);
      return { connection, stored };
    }),
  );
}

/** Forgets the connection here and tells the other instances (cache/invalidate.ts); never rejects. */
export function forgetConnection(data: ServerData, projectId: string, id: string): Promise<void> {
  return data.caches.notices.changed({ cache: 'connections', key: keyOf(projectId, id) });
}

/**
 * Runs a change to a connection or its credential, then drops what this instance kept of it;
 * also when the change failed, since it may have been committed before the failure.
 */
export async function changeConnection<T>(
  data: ServerData,
  projectId: string,
  id: string,
  change: () => Promise<T>,
): Promise<T> {
  try {
    return await change();
  } finally {
    await forgetConnection(data, projectId, id);
  }
}
