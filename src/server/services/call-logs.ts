import type { ServerData } from '../contracts.js';
import * as store from '../store/call-logs.js';
import type { CallLogPage, CallLogQuery } from '../store/call-logs.js';
import * as connections from '../store/connections.js';
import { guard } from '../store/open.js';

/**
 * A project's call log, as the log routes and `connectr serve logs` read it: a page at a time,
 * each query guarded (a lost database is a 503). The rows are written by call-log/writer.ts.
 */

export type { CallLogPage, CallLogQuery, CallLogRow, StatusFilter } from '../store/call-logs.js';
export { MAX_LOG_PAGE } from '../store/call-logs.js';
export { CALL_KINDS } from '../store/schema.js';

export function listCallLogs(data: ServerData, projectId: string, query: CallLogQuery): Promise<CallLogPage> {
  return guard(data.database, () => store.listCallLogs(data.db, projectId, query));
}

/** The calls of one of the project's connections; another project's (or an unknown) id is a not_found. */
export function listConnectionCallLogs(
  data: ServerData,
  projectId: string,
  connectionId: string,
  query: Omit<CallLogQuery, 'connectionId'>,
): Promise<CallLogPage> {
  return guard(data.database, async () => {
    await connections.requireConnection(data.db, projectId, connectionId);
    return store.listCallLogs(data.db, projectId, { ...query, connectionId });
  });
}
