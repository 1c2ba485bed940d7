import type { Db } from '../store/db.js';

export interface ProviderEvent {
  readonly projectId: string;
  readonly connector: string;
  /** null: the event could not be attributed to a connection (it goes out once, with connection_id null). */
  readonly connectionId: string | null;
  /** The provider's own event type (e.g. 'list_folder', 'message', 'push', 'created', 'updated'). */
  readonly eventType: string;
  /** The provider's payload as received (parsed JSON), never a secret of ours. */
  readonly payload: unknown;
  /** Provider's delivery id when it has one (GitHub X-GitHub-Delivery): the outbox skips a repeat. */
  readonly dedupeKey?: string | undefined;
}

/**
 * Writes a `provider.event` to the outbox in `tx`; false when dedupeKey was seen already.
 * Placeholder until the outbox of issue #23 is merged: records nothing.
 */
export function recordProviderEvent(_tx: Db, _event: ProviderEvent, _now: Date): Promise<boolean> {
  return Promise.resolve(true);
}
