import type { Clock } from '../clock.js';
import type { Connector } from '../connector/model.js';
import { ConnectrError } from '../errors.js';
import type { KeyRule, LimitStore, MemoryLimitStore } from './gcra.js';
import { providerPause } from './signals.js';
import type { AnswerHead } from './signals.js';
import { counts, intervalOf, toleranceOf } from './spec.js';
import type { LimitScope, RateLimitRule, RateLimits } from './spec.js';

/**
 * The rate limits of one call, as the engine (send.ts: each attempt, retries included) and the
 * raw proxy (forward.ts) meet them: before an attempt goes upstream, `before` takes its turn on
 * every limit that counts it (waiting up to the call's max wait, else a rate_limited error and
 * nothing is sent); each answer's provider signals pause the same keys (`answered`). The keys'
 * state lives in a LimitStore: the database for connectr serve, memory for the CLI.
 */
export interface AttemptLimiter {
  /** Whether some limit counts only some endpoints (the raw proxy then finds a request's endpoint). */
  readonly byEndpoint: boolean;
  /** Resolves when the attempt may go; rejects with rate_limited, or the caller's going away. */
  before(endpoint: string | undefined, cancel?: Cancel): Promise<void>;
  /** An answer (its body when it was read): the provider's own signals pause the keys. */
  answered(endpoint: string | undefined, answer: AnswerHead, body?: string): void;
}

/** The caller going away: an AbortSignal, or the raw proxy's lighter emitter (CallerGone). */
export type Cancel =
  AbortSignal | { readonly aborted: boolean; once(event: 'abort', listener: () => void): unknown };

export interface LimiterOptions {
  readonly connector: Connector;
  readonly limits: RateLimits;
  /** The key of a scope's budget: the connection's, or the project's connector's. */
  readonly scopeKey: (scope: LimitScope) => string;
  readonly store: LimitStore;
  readonly clock: Clock;
  /** This call's longest wait (the caller's, else the limits'). */
  readonly maxWaitMs?: number | undefined;
  /** What to tell a refused caller besides waiting (how to allow a longer wait). */
  readonly hint?: string | undefined;
  readonly onDelayed?: ((waitMs: number) => void) | undefined;
  readonly onRefused?: (() => void) | undefined;
  /**
   * This process's own record of when its calls really left, by key (the same rules in memory):
   * a call given its turn but woken late (an event loop busy with other calls, as PGlite's are)
   * does not then go right beside the next one; it waits the interval from the last that left.
   */
  readonly pacer?: MemoryLimitStore | undefined;
  /** A pause could not be recorded (the database away): the engine's own retry still waits. */
  readonly onPauseError?: ((error: unknown) => void) | undefined;
}

export function limiterFor(options: LimiterOptions): AttemptLimiter {
  const { connector, limits, store, clock } = options;
  const maxWaitMs = options.maxWaitMs ?? limits.maxWaitMs;
  const byEndpoint = new Map<string | undefined, { rules: KeyRule[]; limits: RateLimitRule[] }>();
  const keysOf = (endpoint: string | undefined): { rules: KeyRule[]; limits: RateLimitRule[] } => {
    let found = byEndpoint.get(endpoint);
    if (found === undefined) {
      found = { rules: [], limits: [] };
      limits.limits.forEach((limit, i) => {
        if (!counts(limit, endpoint)) return;
        found?.limits.push(limit);
        found?.rules.push({
          key: `${options.scopeKey(limit.scope)}/${i}:${limit.requests}/${limit.per}/${limit.burst ?? 1}`,
          interval: intervalOf(limit),
          tolerance: toleranceOf(limit),
        });
      });
      byEndpoint.set(endpoint, found);
    }
    return found;
  };
  return {
    byEndpoint: limits.limits.some((l) => l.endpoints !== undefined),
    async before(endpoint, cancel) {
      const { rules, limits: counting } = keysOf(endpoint);
      if (rules.length === 0) return;
      const decision = await store.take(rules, clock.now(), maxWaitMs);
      if (!decision.go) {
        options.onRefused?.();
        throw refusal(connector, counting, decision.retryAfterMs, maxWaitMs, options.hint);
      }
      if (decision.waitMs > 0) {
        options.onDelayed?.(decision.waitMs);
        await sleepUnless(clock, decision.waitMs, cancel);
      }
      const paced = options.pacer?.take(rules, clock.now(), Number.POSITIVE_INFINITY);
      if (paced?.go && paced.waitMs > 0) await sleepUnless(clock, paced.waitMs, cancel);
    },
    answered(endpoint, answer, body) {
      const pauseMs = providerPause(connector, answer, body, clock.now());
      if (pauseMs === undefined || pauseMs <= 0) return;
      const { rules } = keysOf(endpoint);
      if (rules.length === 0) return;
      const paused = store.pause(
        rules.map((r) => r.key),
        clock.now(),
        pauseMs,
      );
      if (paused instanceof Promise)
        paused.catch((error: unknown) => {
          options.onPauseError?.(error);
        });
    },
  };
}

function refusal(
  connector: Connector,
  limits: readonly RateLimitRule[],
  retryAfterMs: number,
  maxWaitMs: number,
  hint: string | undefined,
): ConnectrError {
  const described = limits.map((l) => `${l.requests} per ${l.per} per ${l.scope}`).join(', ');
  return new ConnectrError(
    'rate_limited',
    `${connector.name}'s rate limit (${described}) gives this call its turn in ${(retryAfterMs / 1000).toFixed(1)} s, beyond the ${maxWaitMs} ms it may wait; nothing was sent`,
    {
      hint: `try again after Retry-After seconds${hint ? `, or ${hint}` : ''}`,
      retryAfterMs,
    },
  );
}

/** The clock's sleep, ended by either kind of Cancel. */
function sleepUnless(clock: Clock, ms: number, cancel: Cancel | undefined): Promise<void> {
  if (cancel === undefined || cancel instanceof AbortSignal) return clock.sleep(ms, cancel);
  const bridge = new AbortController();
  if (cancel.aborted) bridge.abort(cancelled());
  else
    cancel.once('abort', () => {
      bridge.abort(cancelled());
    });
  return clock.sleep(ms, bridge.signal);
}

function cancelled(): ConnectrError {
  return new ConnectrError('cancelled', 'the caller went away while the call waited its turn');
}
