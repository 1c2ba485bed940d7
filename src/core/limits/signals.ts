import type { Connector } from '../connector/model.js';
import { serverWait } from '../engine/send.js';

/**
 * The provider saying "stop for a while", read from an answer with the connector's `rate_limit`
 * block (the one the engine's retries read through serverWait, so one declaration drives both):
 * a 429, or a provider code that means rate-limited (Slack's `ratelimited`), waits what
 * Retry-After, the reset header or the body says (else a second); a remaining-calls header at 0
 * (GitHub's X-RateLimit-Remaining) waits until the reset header's time. Undefined: no signal.
 */

/** How long a rate-limited answer that says nothing of when pauses the keys. */
export const DEFAULT_PAUSE_MS = 1000;
/** The longest pause an answer may impose: a hostile or broken reset time shuts nothing for days. */
export const MAX_PAUSE_MS = 3_600_000;

export interface AnswerHead {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The provider's error code in a 2xx answer (errors.ok_path, code_paths). */
  readonly failedCode?: string | undefined;
}

export function providerPause(
  connector: Connector,
  answer: AnswerHead,
  body: string | undefined,
  now: number,
): number | undefined {
  const signals = connector.rateLimit;
  const limited =
    answer.status === 429 || (answer.failedCode !== undefined && signals.codes.includes(answer.failedCode));
  if (limited) return bounded(serverWait(answer, body ?? '', connector, now) ?? DEFAULT_PAUSE_MS);
  for (const name of signals.remainingHeaders) {
    const value = first(answer.headers[name.toLowerCase()]);
    if (value?.trim() !== '0') continue;
    const wait = serverWait(
      { headers: answer.headers },
      '',
      { ...connector, rateLimit: { ...signals, retryAfterHeaders: [] } },
      now,
    );
    return wait === undefined || wait <= 0 ? undefined : bounded(wait);
  }
  return undefined;
}

function bounded(ms: number): number {
  return Math.min(Math.max(ms, 0), MAX_PAUSE_MS);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
