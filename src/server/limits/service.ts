import type { Clock } from '../../core/clock.js';
import type { Connector } from '../../core/connector/model.js';
import { MemoryLimitStore } from '../../core/limits/gcra.js';
import { limiterFor } from '../../core/limits/limiter.js';
import type { AttemptLimiter, Cancel } from '../../core/limits/limiter.js';
import type { RateLimitRule, RateLimits } from '../../core/limits/spec.js';
import { DEFAULT_MAX_WAIT_MS } from '../../core/limits/spec.js';
import type { AnswerHead } from '../../core/limits/signals.js';
import type { ServerData } from '../contracts.js';
import type { Metrics } from '../metrics.js';
import {
  DatabaseLimitStore,
  IDLE_KEY_MS,
  allOverrides,
  deleteOverride,
  overrideKey,
  purgeIdleLimitKeys,
  putOverride,
} from '../store/rate-limits.js';
import type { LimitOverride } from '../store/rate-limits.js';

/**
 * The daemon's rate limits: which limits hold for a project's connector (the project's override,
 * else the definition's), and a limiter for each call over the database's shared state
 * (store/rate-limits.ts), counted in /metrics. A connector without limits gets no limiter at all:
 * the call pays nothing, not even an await. The projects' overrides are few: read whole, kept in
 * memory and read again in the background once older than the cache time (another instance's
 * change is seen within it, as a revoked key is).
 */

export interface LimitServiceOptions {
  readonly clock: Clock;
  /** How long the overrides read are trusted (CONNECTR_CACHE_MS). */
  readonly ttlMs: number;
  readonly onError?: ((error: unknown, what: string) => void) | undefined;
}

export class RateLimitService {
  private overrides = new Map<string, LimitOverride>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;
  /**
   * Where turns are taken: the database's rows on PostgreSQL, shared by every instance; this
   * process's memory on PGlite, which only this process can open (store/instance-lock.ts), so
   * the rows would be shared with no one and a statement every few calls cost a limit far
   * above the load about 40 us of CPU a call.
   */
  private readonly store: DatabaseLimitStore | MemoryLimitStore;
  /** When this instance's calls really left, by key (limiter.ts's pacer). */
  private readonly pacer = new MemoryLimitStore();

  constructor(
    private readonly data: ServerData,
    private readonly metrics: Metrics,
    private readonly options: LimitServiceOptions,
  ) {
    this.store =
      data.database.backend === 'pglite' ? new MemoryLimitStore() : new DatabaseLimitStore(data.database);
  }

  /** The limits in force for `connector` in `projectId`: its override, else the definition's. */
  effective(
    projectId: string,
    connector: Connector,
  ): { limits: RateLimits | undefined; source: 'project' | 'connector' } {
    const override = this.overrides.get(overrideKey(projectId, connector.name));
    if (override === undefined) return { limits: connector.rateLimits, source: 'connector' };
    return {
      limits: {
        maxWaitMs: override.maxWaitMs ?? connector.rateLimits?.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
        limits: override.limits,
      },
      source: 'project',
    };
  }

  /** The overrides as the database has them now (before answering GET, and at first use). */
  async refresh(): Promise<void> {
    const started = this.options.clock.now();
    this.loading ??= allOverrides(this.data.db)
      .then((found) => {
        this.overrides = found;
        this.loadedAt = started;
      })
      .finally(() => {
        this.loading = undefined;
      });
    await this.loading;
  }

  /** Forgets the keys idle for an hour: the database's rows, or this process's memory (rounds.ts calls it). */
  async purgeIdle(): Promise<void> {
    const before = this.options.clock.now() - IDLE_KEY_MS;
    this.pacer.purgeIdle(before);
    if (this.store instanceof MemoryLimitStore) this.store.purgeIdle(before);
    else await purgeIdleLimitKeys(this.data.database);
  }

  /** Stores a project's own limits for a connector: in force at once here, elsewhere within the cache time. */
  async override(
    projectId: string,
    connector: string,
    value: { limits: readonly RateLimitRule[]; maxWaitMs: number | null },
  ): Promise<void> {
    const stored = await putOverride(this.data.db, projectId, connector, value);
    this.overrides.set(overrideKey(projectId, connector), stored);
  }

  /** Back to the definition's limits for the project. */
  async removeOverride(projectId: string, connector: string): Promise<void> {
    await deleteOverride(this.data.db, projectId, connector);
    this.overrides.delete(overrideKey(projectId, connector));
  }

  /**
   * The limiter of one call of a connection; undefined when no limit holds for it. `maxWaitMs`
   * is the caller's own (x-connectr-max-wait, max_wait_ms), else the limits'.
   */
  limiter(
    projectId: string,
    connectionId: string,
    connector: Connector,
    maxWaitMs: number | undefined,
  ): AttemptLimiter | undefined {
    const now = this.options.clock.now();
    if (now - this.loadedAt > this.options.ttlMs && this.loading === undefined) {
      // Never read yet: the first call waits for the overrides (once per instance).
      if (this.loadedAt === Number.NEGATIVE_INFINITY)
        return this.afterLoad(projectId, connectionId, connector, maxWaitMs);
      void this.refresh().catch((error: unknown) =>
        this.options.onError?.(error, 'reading the rate-limit overrides'),
      );
    }
    const { limits } = this.effective(projectId, connector);
    if (limits === undefined || limits.limits.length === 0) return undefined;
    return limiterFor({
      connector,
      limits,
      maxWaitMs,
      scopeKey: (scope) => `${projectId}/${connector.name}/${scope === 'connection' ? connectionId : '*'}`,
      store: this.store,
      pacer: this.pacer,
      clock: this.options.clock,
      hint: 'allow a longer wait with the x-connectr-max-wait header or max_wait_ms (milliseconds, at most 60000)',
      onDelayed: () => {
        this.metrics.rateLimited(connector.name, 'delayed');
      },
      onRefused: () => {
        this.metrics.rateLimited(connector.name, 'refused');
      },
      onPauseError: (error) => this.options.onError?.(error, "recording a provider's rate-limit pause"),
    });
  }

  /** Before the overrides were ever read: a limiter that reads them, then is the right one (or none). */
  private afterLoad(
    projectId: string,
    connectionId: string,
    connector: Connector,
    maxWaitMs: number | undefined,
  ): AttemptLimiter {
    let found: Promise<AttemptLimiter | undefined> | undefined;
    const resolved = (): Promise<AttemptLimiter | undefined> =>
      (found ??= this.refresh().then(() => this.limiter(projectId, connectionId, connector, maxWaitMs)));
    return {
      // Some override may count some endpoints only: the raw proxy finds the endpoint.
      byEndpoint: true,
      async before(endpoint: string | undefined, cancel?: Cancel) {
        await (await resolved())?.before(endpoint, cancel);
      },
      answered(endpoint: string | undefined, answer: AnswerHead, body?: string) {
        void resolved().then((limiter) => {
          limiter?.answered(endpoint, answer, body);
        });
      },
    };
  }
}
