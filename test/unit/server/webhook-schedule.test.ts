import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE, retryDelay, scaledSchedule } from '../../../src/server/webhooks/schedule.js';

/** The retry schedule of webhook deliveries (docs/webhooks.md, "Delivery, retries and order"). */
describe('webhook retry schedule', () => {
  const s = 1000;
  const expected = [5 * s, 30 * s, 120 * s, 600 * s, 3600 * s, 6 * 3600 * s, 12 * 3600 * s, 12 * 3600 * s];

  it('waits about 5 s, 30 s, 2 min, 10 min, 1 h, 6 h, then every 12 h, for 3 days', () => {
    expect(expected.map((_, i) => retryDelay(DEFAULT_RETRY_SCHEDULE, i + 1, 0.5))).toEqual(expected);
    expect(DEFAULT_RETRY_SCHEDULE.retryForMs).toBe(72 * 3600 * s);
  });

  it('moves each delay by at most 10 % either way', () => {
    expected.forEach((base, i) => {
      expect(retryDelay(DEFAULT_RETRY_SCHEDULE, i + 1, 0)).toBe(Math.round(base * 0.9));
      expect(retryDelay(DEFAULT_RETRY_SCHEDULE, i + 1, 0.999999)).toBeLessThanOrEqual(Math.round(base * 1.1));
    });
  });

  it('scales every duration for tests, never below 1 ms', () => {
    const fast = scaledSchedule(0.001);
    expect(fast.delaysMs).toEqual([5, 30, 120, 600, 3600, 21_600]);
    expect(fast.thenEveryMs).toBe(43_200);
    expect(fast.retryForMs).toBe(259_200);
    expect(scaledSchedule(1e-9).delaysMs.every((d) => d === 1)).toBe(true);
  });
});
