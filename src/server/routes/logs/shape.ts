import * as z from 'zod';
import { isConnectrError } from '../../../core/errors.js';
import { FieldError } from '../../errors.js';
import { connectionId, dateTime, pageLimit } from '../../input.js';
import type { CallLogPage, CallLogQuery, CallLogRow, StatusFilter } from '../../services/call-logs.js';
import { CALL_KINDS, MAX_LOG_PAGE } from '../../services/call-logs.js';
import { ConnectorParams } from '../connectors/name.js';

/** What the two log routes take and answer (list.ts). */

export const LogQuery = z.strictObject({
  connection_id: connectionId.optional().describe('Only the calls of this connection.'),
  connector: ConnectorParams.shape.name.optional().describe('Only the calls of this connector, e.g. gmail.'),
  status: z
    .string()
    .regex(/^[1-5](\d\d|xx)$/, {
      message: 'status is an HTTP status (e.g. 429) or a class of them (1xx to 5xx)',
    })
    .optional()
    .describe('Only calls the upstream answered with this status (e.g. 429), or a class of them (e.g. 5xx).'),
  since: dateTime('since').optional().describe('Only calls started at or after this time (RFC 3339).'),
  limit: pageLimit(MAX_LOG_PAGE, 50, 'calls'),
  cursor: z
    .string()
    .max(64, { message: 'cursor is not one this server gave out' })
    .optional()
    .describe(
      'next_cursor of the previous page (older calls, newest first), or its follow_cursor (calls written since, oldest first).',
    ),
});
export type LogQuery = z.infer<typeof LogQuery>;

export const CallLogShape = z.object({
  at: z.string().describe('When the call started (RFC 3339).'),
  connection_id: z.string(),
  connector: z.string(),
  connector_version: z.number().int().nullable().describe("The connector's version the call ran with."),
  kind: z.enum(CALL_KINDS).describe('execute, proxy (the raw proxy) or mcp (a tool call).'),
  endpoint: z.string().nullable().describe("execute and mcp: the endpoint's name."),
  method: z.string().nullable().describe('proxy: the HTTP method.'),
  path: z
    .string()
    .nullable()
    .describe('proxy: the path below the base URL and the query, secret values replaced by [REDACTED].'),
  status: z.number().int().nullable().describe("The upstream's last status; null when it answered nothing."),
  duration_ms: z.number().int(),
  bytes_sent: z.number().int().nullable().describe('Request body bytes sent upstream.'),
  bytes_received: z.number().int().nullable().describe('Answer body bytes received (see docs/server.md).'),
  retries: z.number().int(),
  error_code: z
    .string()
    .nullable()
    .describe("connectr's error code when the call failed on its side (needs_reauth, timeout…)."),
  request_id: z.string().describe('The x-request-id of the request that made the call.'),
});

export const LogPageShape = z.object({
  logs: z.array(CallLogShape),
  next_cursor: z.string().nullable().describe('Pass as cursor for older calls; null on the last page.'),
  follow_cursor: z
    .string()
    .describe(
      'Pass as cursor to get the calls written after these (what `connectr serve logs --follow` does).',
    ),
});

export function callLogJson(row: CallLogRow): z.infer<typeof CallLogShape> {
  return {
    at: row.at.toISOString(),
    connection_id: row.connectionId,
    connector: row.connector,
    connector_version: row.connectorVersion,
    kind: row.kind,
    endpoint: row.endpoint,
    method: row.method,
    path: row.path,
    status: row.status,
    duration_ms: row.durationMs,
    bytes_sent: row.bytesSent,
    bytes_received: row.bytesReceived,
    retries: row.retries,
    error_code: row.errorCode,
    request_id: row.requestId,
  };
}

export function pageJson(page: CallLogPage): z.infer<typeof LogPageShape> {
  return { logs: page.rows.map(callLogJson), next_cursor: page.nextCursor, follow_cursor: page.followCursor };
}

function statusFilter(status: string | undefined): StatusFilter | undefined {
  if (status === undefined) return undefined;
  return status.endsWith('xx') ? { class: Number(status[0]) } : { exact: Number(status) };
}

/** The store's query from the route's. */
export function logQuery(query: LogQuery): CallLogQuery {
  return {
    connectionId: query.connection_id,
    connector: query.connector,
    status: statusFilter(query.status),
    since: query.since === undefined ? undefined : new Date(query.since),
    limit: query.limit ?? 50,
    cursor: query.cursor,
  };
}

/** Runs `read`; a cursor the store refuses is a 400 naming query.cursor. */
export async function namingCursor<T>(cursor: string | undefined, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isConnectrError(error) && error.code === 'invalid_input' && cursor !== undefined)
      throw new FieldError('query.cursor', error.message, { hint: error.hint });
    throw error;
  }
}
