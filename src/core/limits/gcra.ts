/**
 * The generic cell rate algorithm (GCRA), as one row of state per key: the theoretical arrival
 * time `tat` of the next evenly spaced call, and `pausedUntil`, set by the provider's own
 * signals (Retry-After, a reset time). A call over several keys may go at the latest of their
 * allowed times; going, it pushes each key's `tat` one interval past that time (it reserves its
 * slot), so a waiting call knows its turn at once and never asks again. A call that would wait
 * longer than it may reserves nothing.
 *
 * The store's SQL statement (server/store/rate-limits.ts) computes exactly this, in one
 * statement; MemoryLimitStore below does it for one process (the CLI). Times are milliseconds
 * since the epoch, fractional where an interval is (1 s / 3).
 */

export interface KeyState {
  readonly tat: number;
  readonly pausedUntil: number;
}

/** One key a call counts against: its interval and tolerance (spec.ts's intervalOf, toleranceOf). */
export interface KeyRule {
  readonly key: string;
  readonly interval: number;
  readonly tolerance: number;
}

export const EMPTY_STATE: KeyState = { tat: 0, pausedUntil: 0 };

/** When a call arriving at `now` may go, over every key it counts against. */
export function allowedAt(keys: readonly { rule: KeyRule; state: KeyState }[], now: number): number {
  let at = now;
  for (const { rule, state } of keys) at = Math.max(at, state.tat - rule.tolerance, state.pausedUntil);
  return at;
}

/** A key's state once a call has taken its slot at `at`. */
export function reserved(rule: KeyRule, state: KeyState, at: number): KeyState {
  return { tat: Math.max(state.tat, at) + rule.interval, pausedUntil: state.pausedUntil };
}

/** Whether a call allowed at `at` goes (now, or after a wait of at most `maxWaitMs`). */
export function mayWait(at: number, now: number, maxWaitMs: number): boolean {
  return at - now <= maxWaitMs;
}

export type Decision =
  { readonly go: true; readonly waitMs: number } | { readonly go: false; readonly retryAfterMs: number };

/** Go now, wait `waitMs` for the reserved turn, or be refused (and when to try again). */
export function decide(at: number, now: number, maxWaitMs: number): Decision {
  if (!mayWait(at, now, maxWaitMs)) return { go: false, retryAfterMs: at - now };
  return { go: true, waitMs: Math.max(0, at - now) };
}

/**
 * Where the state of the keys lives and is changed: `take` reserves a slot on every key (or on
 * none when the call would wait more than `maxWaitMs`) and decides; `pause` keeps every key shut
 * for `ms`. A store may keep time by its own clock (the database's, the one clock every instance
 * shares) instead of `now`: what it answers is relative, a wait from when it answers.
 */
export interface LimitStore {
  take(keys: readonly KeyRule[], now: number, maxWaitMs: number): Decision | Promise<Decision>;
  pause(keys: readonly string[], now: number, ms: number): void | Promise<void>;
}

/** The keys' state in this process's memory: `connectr call --all`, `connectr api --paginate`. */
export class MemoryLimitStore implements LimitStore {
  private readonly states = new Map<string, KeyState>();

  take(keys: readonly KeyRule[], now: number, maxWaitMs: number): Decision {
    const current = keys.map((rule) => ({ rule, state: this.states.get(rule.key) ?? EMPTY_STATE }));
    const at = allowedAt(current, now);
    if (mayWait(at, now, maxWaitMs))
      for (const { rule, state } of current) this.states.set(rule.key, reserved(rule, state, at));
    return decide(at, now, maxWaitMs);
  }

  pause(keys: readonly string[], now: number, ms: number): void {
    const until = now + ms;
    for (const key of keys) {
      const state = this.states.get(key) ?? EMPTY_STATE;
      this.states.set(key, { tat: state.tat, pausedUntil: Math.max(state.pausedUntil, until) });
    }
  }

  /**
   * Forgets the keys idle since `before`: no turn reserved and no pause after it. Such a key
   * decides what an unknown one does (its next call may go at once), so no decision changes;
   * without this a long-running daemon kept a key per connection and limit for good.
   */
  purgeIdle(before: number): void {
    for (const [key, state] of this.states)
      if (Math.max(state.tat, state.pausedUntil) < before) this.states.delete(key);
  }

  /** A key's state (tests). */
  state(key: string): KeyState | undefined {
    return this.states.get(key);
  }
}
