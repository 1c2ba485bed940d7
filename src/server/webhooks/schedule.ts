/**
 * When a failed delivery is tried again: about 5 s, 30 s, 2 min, 10 min, 1 h and 6 h after the
 * attempts before, then every 12 h, until 3 days after the event (or its redelivery), each
 * delay moved by up to ±10 % so that endpoints recovering together are not all hit at once.
 * Injected (and scaled) so that a test runs the whole schedule in milliseconds.
 */
export interface RetrySchedule {
  /** The delay after the first, second… failed attempt (ms). */
  readonly delaysMs: readonly number[];
  /** The delay after every later one (ms). */
  readonly thenEveryMs: number;
  /** How long an event is retried, from when it was recorded or redelivered (ms). */
  readonly retryForMs: number;
  /** Up to this share of a delay is added or taken away at random. */
  readonly jitter: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  delaysMs: [5 * SECOND, 30 * SECOND, 2 * MINUTE, 10 * MINUTE, HOUR, 6 * HOUR],
  thenEveryMs: 12 * HOUR,
  retryForMs: 72 * HOUR,
  jitter: 0.1,
};

/** The schedule with every duration multiplied by `factor` (tests: 0.001 makes 5 s into 5 ms). */
export function scaledSchedule(
  factor: number,
  schedule: RetrySchedule = DEFAULT_RETRY_SCHEDULE,
): RetrySchedule {
  const scale = (ms: number): number => Math.max(1, Math.round(ms * factor));
  return {
    delaysMs: schedule.delaysMs.map(scale),
    thenEveryMs: scale(schedule.thenEveryMs),
    retryForMs: scale(schedule.retryForMs),
    jitter: schedule.jitter,
  };
}

/** The wait after failed attempt number `attempts` (1 for the first); `random` in [0, 1). */
export function retryDelay(schedule: RetrySchedule, attempts: number, random: number): number {
  const base = schedule.delaysMs[attempts - 1] ?? schedule.thenEveryMs;
  return Math.max(1, Math.round(base * (1 + schedule.jitter * (2 * random - 1))));
}
