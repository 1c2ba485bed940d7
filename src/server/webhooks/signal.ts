/**
 * Tells this process's delivery workers that an event was written, so they look at once instead
 * of at their next poll. A hint, never a promise: the write may not be committed yet (the
 * worker looks again shortly after), and another instance's events are found by polling.
 */
type Listener = () => void;

const listeners = new Set<Listener>();

/** Calls `listener` after each event written in this process; the function returned stops it. */
export function onOutboxWrite(listener: Listener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function outboxWritten(): void {
  for (const listener of listeners) listener();
}
