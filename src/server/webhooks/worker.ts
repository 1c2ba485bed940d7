import { Agent } from 'undici';
import type { ServerData } from '../contracts.js';
import { guard } from '../store/open.js';
import {
  claimDue,
  oldestUndelivered,
  purgeEvents,
  recordAttempts,
  signingSecrets,
} from '../store/webhooks.js';
import type { AttemptResult, ClaimedDelivery } from '../store/webhooks.js';
import { attemptDelivery } from './deliver.js';
import type { AttemptOutcome } from './deliver.js';
import type { RetrySchedule } from './schedule.js';
import { DEFAULT_RETRY_SCHEDULE, retryDelay } from './schedule.js';
import { onOutboxWrite } from './signal.js';

/**
 * The delivery worker every instance runs: it claims due deliveries (store/webhooks.ts,
 * claimDue: FOR UPDATE SKIP LOCKED and a lease, so with several instances on one database each
 * attempt is made by one of them, and one lost with its instance is made again after the lease),
 * attempts them (deliver.ts), and records the outcome: delivered, due again after the schedule's
 * delay, failed once the retry period is over, and the endpoint disabled on 410 Gone. It looks
 * at once when this process writes an event, and every `pollMs` otherwise.
 */

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 15_000;
export const DEFAULT_WEBHOOK_POLL_MS = 1000;
/** How long an event is kept once no endpoint waits for it (its deliveries shown, redeliverable). */
export const KEEP_EVENTS_MS = 7 * 24 * 60 * 60 * 1000;
const PURGE_EVERY_MS = 60 * 60 * 1000;

/** Attempts in flight at once per instance (never two of one connection to one endpoint). */
const BATCH = 16;

export interface WebhookWorkerOptions {
  readonly schedule?: RetrySchedule;
  /** How often the outbox is looked at when nothing woke the worker (ms). */
  readonly pollMs?: number;
  /** A delivery must be answered within this time (ms). */
  readonly timeoutMs?: number;
}

export interface WorkerDeps {
  /** The server's clock (ms). */
  readonly now: () => number;
  readonly onOutcome: (outcome: DeliveryResult) => void;
  /** The age gauge of /metrics: when the oldest undelivered event was recorded. */
  readonly onOldest: (oldest: Date | undefined) => void;
  readonly onError: (error: unknown) => void;
  readonly random?: () => number;
}

/** How an attempt ended, as /metrics counts it. */
export type DeliveryResult = 'success' | 'failure' | 'gave_up' | 'gone';

export interface WebhookWorker {
  /** Looks at the outbox now (tests, and a write in this process). */
  wake(): void;
  stop(): Promise<void>;
}

export function startWebhookWorker(
  data: ServerData,
  options: WebhookWorkerOptions,
  deps: WorkerDeps,
): WebhookWorker {
  const schedule = options.schedule ?? DEFAULT_RETRY_SCHEDULE;
  const pollMs = options.pollMs ?? DEFAULT_WEBHOOK_POLL_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  // Past the attempt's time limit, with room for recording it: only a lost attempt outlives it.
  const leaseMs = 2 * timeoutMs + 1000;
  const random = deps.random ?? Math.random;
  const dispatcher = new Agent({
    keepAliveTimeout: 10_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: timeoutMs },
  });
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  const inFlight = new Set<Promise<void>>();

  /** Looks again in `ms`, unless a look is already planned sooner. */
  const schedulePoll = (ms: number): void => {
    const at = Date.now() + ms;
    if (stopped || at >= timerAt) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timerAt = Infinity;
      wake();
    }, ms);
    timer.unref();
  };

  /** Outcomes waiting to be recorded; one transaction records all those waiting at once. */
  const outcomes: { record: AttemptResult; result: DeliveryResult }[] = [];
  let flushing: Promise<void> | undefined;

  /**
   * Claims while there is room for more attempts: each runs on its own, so a slow receiver holds
   * one of the BATCH places for its time limit, not the deliveries to everyone else.
   */
  async function pass(): Promise<void> {
    while (!stopped) {
      const room = BATCH - inFlight.size;
      if (room <= 0) {
        await Promise.race(inFlight);
        continue;
      }
      const now = new Date(deps.now());
      const claimed = await guard(data.database, () => claimDue(data.db, now, room, leaseMs));
      if (claimed.length === 0) break;
      for (const c of claimed) {
        const work: Promise<void> = attempt(c)
          .then((outcome) => {
            outcomes.push(outcome);
            flushing ??= flush();
          })
          .catch(deps.onError)
          .finally(() => inFlight.delete(work));
        inFlight.add(work);
      }
    }
    deps.onOldest(await guard(data.database, () => oldestUndelivered(data.db)));
  }

  /** Records the waiting outcomes, then looks again: a connection's next event may be due now. */
  async function flush(): Promise<void> {
    try {
      while (outcomes.length > 0) {
        const batch = outcomes.splice(0);
        await guard(data.database, () =>
          recordAttempts(
            data.db,
            batch.map((o) => o.record),
          ),
        );
        for (const o of batch) deps.onOutcome(o.result);
      }
    } catch (error) {
      // Not recorded: those deliveries are attempted again once their lease ends.
      outcomes.length = 0;
      deps.onError(error);
    } finally {
      flushing = undefined;
      wake();
    }
  }

  async function attempt(
    claimed: ClaimedDelivery,
  ): Promise<{ record: AttemptResult; result: DeliveryResult }> {
    const { delivery, event, endpoint } = claimed;
    const started = new Date(deps.now());
    const body = JSON.stringify({
      type: event.type,
      timestamp: event.createdAt.toISOString(),
      data: event.payload,
    });
    const outcome: AttemptOutcome = await attemptDelivery({
      url: endpoint.url,
      eventId: event.id,
      body,
      secrets: signingSecrets(data.keys, endpoint, started),
      // The real time, whatever the server's clock says: receivers check it against theirs.
      timestampSeconds: Math.floor(Date.now() / 1000),
      timeoutMs,
      dispatcher,
    });
    const now = deps.now();
    const gone = outcome.status === 410;
    const delay = retryDelay(schedule, delivery.attempts, random());
    const result: DeliveryResult = outcome.ok
      ? 'success'
      : gone
        ? 'gone'
        : now + delay > delivery.retryUntil.getTime()
          ? 'gave_up'
          : 'failure';
    // Its next attempt, or the connection's next event, may be due before the next poll.
    if (result === 'failure' && delay < pollMs) schedulePoll(delay);
    return {
      result,
      record: {
        delivery,
        attempt: {
          state: result === 'success' ? 'delivered' : result === 'failure' ? 'pending' : 'failed',
          nextAttemptAt: new Date(result === 'failure' ? now + delay : now),
          status: outcome.status ?? null,
          latencyMs: outcome.latencyMs,
          error: outcome.error ?? null,
        },
        disable: gone ? { reason: 'the receiver answered 410 Gone', at: new Date(now) } : undefined,
      },
    };
  }

  function wake(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass()
      .catch((error: unknown) => {
        deps.onError(error);
      })
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          wake();
        } else schedulePoll(pollMs);
      });
  }

  const unsubscribe = onOutboxWrite(() => {
    // The writer's transaction commits after it wrote: look now and once more shortly.
    wake();
    setTimeout(wake, 20).unref();
  });
  schedulePoll(0);
  // Every instance purges; they cannot conflict (a row another deleted is not found).
  const purge = setInterval(() => {
    guard(data.database, () => purgeEvents(data.db, new Date(deps.now() - KEEP_EVENTS_MS))).catch(
      deps.onError,
    );
  }, PURGE_EVERY_MS);
  purge.unref();

  return {
    wake,
    async stop() {
      stopped = true;
      unsubscribe();
      clearInterval(purge);
      clearTimeout(timer);
      await running;
      await Promise.allSettled([...inFlight]);
      await flushing;
      await dispatcher.close();
    },
  };
}
