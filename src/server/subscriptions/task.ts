import { exclusiveRound, startRounds } from '../rounds.js';
import { guard } from '../store/open.js';
import { subscriptionsDue } from '../store/provider-subscriptions.js';
import type { StoredSubscription } from '../store/provider-subscriptions.js';
import { renewSubscription } from './service.js';
import type { SubscriptionDeps } from './service.js';

/**
 * The subscription task: every CONNECTR_SUBSCRIPTION_INTERVAL_MS, the subscriptions due
 * (half their time gone, renewed a day ago, or asked by a Graph lifecycle notification:
 * store/provider-subscriptions.ts) renewed at their provider, one instance at a time
 * (rounds.ts). One that fails is told to `onFailure` and tried again at the next round.
 */

/** Any constant, the same for every instance: which one runs a renewal round. */
const SUBSCRIPTION_LOCK_KEY = 0x73756273; // "subs"
/** The most subscriptions one round renews; the rest, expiring later, wait for the next. */
const ROUND_LIMIT = 100;

export interface SubscriptionTaskOptions {
  /** Told of a round that failed (the database was away…). */
  readonly onError: (error: unknown) => void;
  /** Told of one subscription the provider would not renew. */
  readonly onFailure: (subscription: StoredSubscription, error: unknown) => void;
}

/** One round now; false when another instance holds it. */
export function renewalRound(
  deps: SubscriptionDeps,
  options: Pick<SubscriptionTaskOptions, 'onFailure'>,
): Promise<boolean> {
  return exclusiveRound(deps.data, SUBSCRIPTION_LOCK_KEY, async () => {
    const due = await guard(deps.data.database, () =>
      subscriptionsDue(deps.data.db, new Date(deps.now()), ROUND_LIMIT),
    );
    for (const subscription of due) {
      if (deps.signal?.aborted) return;
      try {
        await renewSubscription(deps, subscription);
      } catch (error) {
        options.onFailure(subscription, error);
      }
    }
  });
}

export function startSubscriptionTask(
  given: Omit<SubscriptionDeps, 'signal'>,
  everyMs: number,
  options: SubscriptionTaskOptions,
): () => Promise<void> {
  return startRounds(everyMs, (signal) => renewalRound({ ...given, signal }, options), options.onError);
}
