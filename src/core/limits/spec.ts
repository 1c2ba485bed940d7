import { closest } from '../suggest.js';

/**
 * The rate limits connectr keeps for a connector (its YAML's `rate_limits:`, or a project's
 * override through `PUT /api/v1/connectors/{name}/limits`): what a limit is, the bounds of its
 * values, and the rules across limits that a schema cannot say (endpoints that exist, no limit
 * given twice). Shared by the definition checks, the server's override route and the limiters.
 */

export const LIMIT_SCOPES = ['connection', 'connector'] as const;
export type LimitScope = (typeof LIMIT_SCOPES)[number];

/** The periods a limit may count over, and their length. */
export const LIMIT_PERIODS = { '1s': 1000, '1m': 60_000, '1h': 3_600_000 } as const;
export type LimitPeriod = keyof typeof LIMIT_PERIODS;
export const LIMIT_PERIOD_NAMES = Object.keys(LIMIT_PERIODS) as LimitPeriod[];

/** Most requests a limit may allow in its period (and most burst): beyond, it limits nothing. */
export const MAX_LIMIT_REQUESTS = 1_000_000;
/** Most limits one connector (or one override) may declare. */
export const MAX_LIMITS = 50;
/** How long a call waits its turn by default before a 429 rate_limited. */
export const DEFAULT_MAX_WAIT_MS = 10_000;
/** The longest wait anyone may ask for: below the server's idle-socket time (2 min) with room. */
export const MAX_WAIT_LIMIT_MS = 60_000;

export interface RateLimitRule {
  /** `connection`: one budget per connection (per user); `connector`: one for the project's whole connector. */
  readonly scope: LimitScope;
  readonly requests: number;
  readonly per: LimitPeriod;
  /**
   * Calls that may go at once after a quiet time (default 1: calls evenly spaced). At most
   * `requests + burst - 1` calls go in any window of `per`.
   */
  readonly burst?: number | undefined;
  /** The endpoints this limit counts (by name); absent: every call of the connector. */
  readonly endpoints?: readonly string[] | undefined;
}

export interface RateLimits {
  readonly maxWaitMs: number;
  readonly limits: readonly RateLimitRule[];
}

export interface LimitProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * What is wrong across the limits: a limit naming an endpoint the connector lacks, an endpoint
 * named twice in one limit, a burst beyond its requests, the same limit given twice.
 * `path` is relative to the list.
 */
export function limitProblems(
  limits: readonly RateLimitRule[],
  endpointNames: readonly string[],
): LimitProblem[] {
  const problems: LimitProblem[] = [];
  const known = new Set(endpointNames);
  const seen = new Map<string, number>();
  if (limits.length > MAX_LIMITS)
    problems.push({
      path: [],
      message: `${limits.length} limits are more than the ${MAX_LIMITS} a connector may have`,
    });
  limits.forEach((limit, i) => {
    if (limit.burst !== undefined && limit.burst > limit.requests)
      problems.push({
        path: [i, 'burst'],
        message: `burst ${limit.burst} is more than requests ${limit.requests}: a burst is part of the period's requests`,
      });
    const named = new Set<string>();
    (limit.endpoints ?? []).forEach((name, j) => {
      if (!known.has(name))
        problems.push({
          path: [i, 'endpoints', j],
          message: `no endpoint is named "${name}"${nearest(name, endpointNames)}`,
        });
      if (named.has(name))
        problems.push({ path: [i, 'endpoints', j], message: `endpoint "${name}" is named twice` });
      named.add(name);
    });
    const same = `${limit.scope} ${limit.per} ${[...named].sort().join(',')}`;
    const before = seen.get(same);
    if (before !== undefined)
      problems.push({
        path: [i],
        message: `limit ${before + 1} already counts these calls per ${limit.per} at ${limit.scope} scope: give one limit, with the lower requests`,
      });
    else seen.set(same, i);
  });
  return problems;
}

function nearest(name: string, names: readonly string[]): string {
  const found = closest(name, names);
  return found ? ` (did you mean "${found}"?)` : '';
}

/** A definition's `max_wait` ("10s", "500ms") in milliseconds; undefined when not of that form. */
export function maxWaitOf(text: string): number | undefined {
  const match = /^([0-9]{1,6})(ms|s)$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1);
}

/** The milliseconds between two evenly spaced calls of a limit. */
export function intervalOf(limit: RateLimitRule): number {
  return LIMIT_PERIODS[limit.per] / limit.requests;
}

/** How far ahead of its even spacing a call may go: `burst - 1` intervals. */
export function toleranceOf(limit: RateLimitRule): number {
  return ((limit.burst ?? 1) - 1) * intervalOf(limit);
}

/** Whether a limit counts calls of `endpoint` (undefined: a raw request that fits no endpoint). */
export function counts(limit: RateLimitRule, endpoint: string | undefined): boolean {
  return limit.endpoints === undefined || (endpoint !== undefined && limit.endpoints.includes(endpoint));
}
