import type { Db } from '../store/db.js';
import { insertEvent } from '../store/webhooks.js';
import { PROVIDER_EVENT_TYPE } from './events.js';
import { DEFAULT_RETRY_SCHEDULE } from './schedule.js';
import { outboxWritten } from './signal.js';

/**
 * A provider's verified push, forwarded to the project's webhook endpoints as a `provider.event`
 * (docs/webhooks.md, "Provider events") through the same outbox, signatures, retries and order
 * per connection as the connection events.
 */

export interface ProviderEvent {
  readonly projectId: string;
  readonly connector: string;
  /** null: the event could not be attributed to a connection (it goes out once, with connection_id null). */
  readonly connectionId: string | null;
  /** The provider's own event type (e.g. 'list_folder', 'message', 'push', 'created', 'updated'). */
  readonly eventType: string;
  /** The provider's payload as received (parsed JSON), never a secret of ours. */
  readonly payload: unknown;
  /** The provider's id of the push, per connection (GitHub's X-GitHub-Delivery): a repeat is skipped. */
  readonly dedupeKey?: string | undefined;
}

/** Writes a `provider.event` to the outbox in `tx`; false when its dedupeKey was recorded already. */
export async function recordProviderEvent(tx: Db, event: ProviderEvent, now: Date): Promise<boolean> {
  const row = await insertEvent(
    tx,
    {
      projectId: event.projectId,
      type: PROVIDER_EVENT_TYPE,
      connectionId: event.connectionId,
      data: {
        connector: event.connector,
        connection_id: event.connectionId,
        event_type: event.eventType,
        payload: event.payload,
      },
      dedupeKey: event.dedupeKey,
    },
    now,
    DEFAULT_RETRY_SCHEDULE.retryForMs,
  );
  if (row === undefined) return false;
  outboxWritten();
  return true;
}
