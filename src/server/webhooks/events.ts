import type { Db } from '../store/db.js';
import type { Connection } from '../store/connections.js';

/** Placeholder until the webhooks outbox lands: the same exports, recording nothing. */

export const CONNECTION_EVENT_TYPES = [
  'connection.created',
  'connection.signed_in',
  'connection.needs_reauth',
  'connection.restored',
  'connection.deleted',
] as const;
export type ConnectionEventType = (typeof CONNECTION_EVENT_TYPES)[number];

export interface ConnectionEvent {
  readonly type: ConnectionEventType;
  /** The connection as GET /api/v1/connections/{id} shows it, after the change. */
  readonly connection: Connection;
  /** needs_reauth only: 'refresh_rejected' | 'health_check_failed' (and a short message, no secret). */
  readonly reason?: { readonly code: string; readonly message: string } | undefined;
}

/** Writes the event to the outbox inside the caller's transaction `tx`. */
export function recordConnectionEvent(tx: Db, event: ConnectionEvent, now: Date): Promise<void> {
  void tx;
  void event;
  void now;
  return Promise.resolve();
}
