import type { Connection } from '../store/connections.js';
import type { Db } from '../store/db.js';
import { insertEvent } from '../store/webhooks.js';
import { DEFAULT_RETRY_SCHEDULE } from './schedule.js';
import { outboxWritten } from './signal.js';

/**
 * The connection events webhooks deliver (docs/webhooks.md), written to the outbox in the
 * transaction of the change that caused them: an event exists exactly when its change committed.
 * Their `data` is the connection as GET /api/v1/connections/{id} shows it (the route's own view:
 * no token, no secret), plus `reason` for needs_reauth.
 */

export const CONNECTION_EVENT_TYPES = [
  'connection.created',
  'connection.signed_in',
  'connection.needs_reauth',
  'connection.restored',
  'connection.deleted',
] as const;
export type ConnectionEventType = (typeof CONNECTION_EVENT_TYPES)[number];

/** A provider's push, forwarded (webhooks/provider-event.ts). */
export const PROVIDER_EVENT_TYPE = 'provider.event';

/** What an endpoint may ask for in `events`: every type but webhook.test, which always reaches it. */
export const WEBHOOK_EVENT_TYPES = [...CONNECTION_EVENT_TYPES, PROVIDER_EVENT_TYPE] as const;

export interface ConnectionEvent {
  readonly type: ConnectionEventType;
  /** The connection as GET /api/v1/connections/{id} shows it, after the change. */
  readonly connection: Connection;
  /** needs_reauth only: 'refresh_rejected' | 'health_check_failed' (and a short message, no secret). */
  readonly reason?: { readonly code: string; readonly message: string } | undefined;
}

/** Writes the event to the outbox inside the caller's transaction `tx`. */
export async function recordConnectionEvent(tx: Db, event: ConnectionEvent, now: Date): Promise<void> {
  const { connection, reason } = event;
  // Loaded here, not at the top: the route's view imports the connections service, which
  // records events through this module (an import cycle).
  const { connectionJson } = await import('../routes/connections/shape.js');
  await insertEvent(
    tx,
    {
      projectId: connection.projectId,
      type: event.type,
      connectionId: connection.id,
      data: {
        ...connectionJson(connection),
        ...(reason ? { reason: { code: reason.code, message: reason.message } } : {}),
      },
    },
    now,
    DEFAULT_RETRY_SCHEDULE.retryForMs,
  );
  outboxWritten();
}
