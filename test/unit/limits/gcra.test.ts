import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import { parseConnector } from '../../../src/core/connector/load.js';
import type { Connector } from '../../../src/core/connector/model.js';
import { formatProblem } from '../../../src/core/connector/problem.js';
import { isConnectrError } from '../../../src/core/errors.js';
import { MemoryLimitStore, allowedAt, decide, reserved } from '../../../src/core/limits/gcra.js';
import type { Decision } from '../../../src/core/limits/gcra.js';
import { limiterFor } from '../../../src/core/limits/limiter.js';
import type { AttemptLimiter } from '../../../src/core/limits/limiter.js';
import { providerPause } from '../../../src/core/limits/signals.js';

/** A clock moved by the test: sleeping moves it on, so waits take no real time. */
class TestClock implements Clock {
  constructor(public at = 1_000_000) {}
  now(): number {
    return this.at;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    this.at += ms;
    return Promise.resolve();
  }
}

/** The demo definition with these `rate_limits` (at line 10), and `extra` top-level lines last. */
function parsed(limits: string, extra = ''): ReturnType<typeof parseConnector> {
  const text = `name: demo
display_name: Demo
version: 1
docs_url: https://example.com/docs
description: A demo API.
hosts:
  api: https://api.example.com
auth:
  type: none
rate_limits:
${limits}
endpoints:
  list_things:
    summary: List things.
    method: GET
    path: /things
  send_thing:
    summary: Send a thing.
    method: POST
    path: /things
errors:
  code_paths: [error]
${extra}
`;
  return parseConnector(text, { file: 'demo.yaml', origin: 'extra' });
}

function connector(limits: string, extra = ''): Connector {
  const result = parsed(limits, extra);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.connector;
}

function problems(limits: string): string[] {
  const result = parsed(limits);
  return result.ok ? [] : result.problems.map(formatProblem);
}

/** When a call goes, as a store decided it at `now` (undefined: refused). */
const turnOf = (decision: Decision, now: number): number | undefined =>
  decision.go ? now + decision.waitMs : undefined;

describe('GCRA', () => {
  const rule = { key: 'k', interval: 200, tolerance: 0 };

  it('spaces calls one interval apart and reserves each turn', () => {
    let state = { tat: 0, pausedUntil: 0 };
    const turns: number[] = [];
    for (let i = 0; i < 5; i++) {
      const at = allowedAt([{ rule, state }], 1000);
      turns.push(at);
      state = reserved(rule, state, at);
    }
    expect(turns).toEqual([1000, 1200, 1400, 1600, 1800]);
  });

  it('lets a burst go at once, then spaces the rest', () => {
    const store = new MemoryLimitStore();
    const burst = { key: 'b', interval: 200, tolerance: 2 * 200 };
    const turns = Array.from({ length: 5 }, () => turnOf(store.take([burst], 1000, 10_000), 1000));
    expect(turns).toEqual([1000, 1000, 1000, 1200, 1400]);
  });

  it('refuses, reserving nothing, a call that would wait longer than it may', () => {
    const store = new MemoryLimitStore();
    expect(turnOf(store.take([rule], 1000, 0), 1000)).toBe(1000);
    expect(store.take([rule], 1000, 100)).toEqual({ go: false, retryAfterMs: 200 });
    expect(decide(1200, 1000, 100)).toEqual({ go: false, retryAfterMs: 200 });
    expect(store.state('k')?.tat).toBe(1200);
    expect(decide(1200, 1000, 200)).toEqual({ go: true, waitMs: 200 });
  });

  it('takes the latest turn over every key, and reserves that turn on each', () => {
    const store = new MemoryLimitStore();
    const slow = { key: 'slow', interval: 1000, tolerance: 0 };
    const fast = { key: 'fast', interval: 100, tolerance: 0 };
    expect(turnOf(store.take([slow, fast], 0, 10_000), 0)).toBe(0);
    expect(turnOf(store.take([slow, fast], 0, 10_000), 0)).toBe(1000);
    // The fast key was reserved at 1000, when the call goes, not at 100.
    expect(store.state('fast')?.tat).toBe(1100);
  });

  it('forgets keys idle since a time, and only those: one reserved or paused after it stays', () => {
    const store = new MemoryLimitStore();
    store.take([{ key: 'idle', interval: 100, tolerance: 0 }], 1000, 0);
    store.take([{ key: 'busy', interval: 100, tolerance: 0 }], 5000, 0);
    store.pause(['paused'], 1000, 9000);
    store.purgeIdle(4000);
    expect(store.state('idle')).toBeUndefined();
    expect(store.state('busy')?.tat).toBe(5100);
    expect(store.state('paused')?.pausedUntil).toBe(10_000);
    // A forgotten key decides what it did: its next call goes at once.
    expect(turnOf(store.take([{ key: 'idle', interval: 100, tolerance: 0 }], 4000, 0), 4000)).toBe(4000);
  });

  it('honours a pause: nothing goes before it ends', () => {
    const store = new MemoryLimitStore();
    store.pause(['k'], 0, 5000);
    expect(turnOf(store.take([rule], 1000, 10_000), 1000)).toBe(5000);
    expect(turnOf(store.take([rule], 1000, 10_000), 1000)).toBe(5200);
  });
});

/** A limiter of the demo connector with `limits`, its state in memory. */
function limiterOn(limits: string, clock: Clock, maxWaitMs?: number): AttemptLimiter {
  const c = connector(limits);
  return limiterFor({
    connector: c,
    limits: c.rateLimits ?? { maxWaitMs: 0, limits: [] },
    maxWaitMs,
    scopeKey: () => 'k',
    store: new MemoryLimitStore(),
    clock,
  });
}

describe('limiterFor', () => {
  it('waits its turn on the clock, then refuses with rate_limited and when to retry', async () => {
    const clock = new TestClock(0);
    const delayed: number[] = [];
    let refused = 0;
    const limiter = limiterFor({
      connector: connector('  - {scope: connection, requests: 5, per: 1s}'),
      limits: { maxWaitMs: 500, limits: [{ scope: 'connection', requests: 5, per: '1s' }] },
      scopeKey: () => 'p/demo/c',
      store: new MemoryLimitStore(),
      clock,
      onDelayed: (ms) => delayed.push(ms),
      onRefused: () => refused++,
    });
    // Four calls at once: now, +200, +400 (within 500 ms), the fourth (600 ms) refused.
    const started = clock.now();
    await limiter.before('list_things');
    expect(clock.now()).toBe(started);
    const waits = [];
    for (let i = 0; i < 2; i++) {
      clock.at = started;
      await limiter.before('list_things');
      waits.push(clock.now() - started);
    }
    expect(waits).toEqual([200, 400]);
    clock.at = started;
    const error = await limiter.before('list_things').catch((e: unknown) => e);
    expect(isConnectrError(error) && error.code).toBe('rate_limited');
    expect(isConnectrError(error) && error.retryAfterMs).toBe(600);
    expect(delayed).toEqual([200, 400]);
    expect(refused).toBe(1);
  });

  it('counts only the endpoints a limit names', async () => {
    const clock = new TestClock(0);
    const limiter = limiterOn(
      '  - {scope: connection, requests: 1, per: 1m, endpoints: [send_thing]}',
      clock,
      0,
    );
    for (let i = 0; i < 10; i++) await limiter.before('list_things');
    await limiter.before('send_thing');
    await expect(limiter.before('send_thing')).rejects.toMatchObject({ code: 'rate_limited' });
  });

  it("pauses the keys on the provider's Retry-After, for every later call", async () => {
    const clock = new TestClock(0);
    const limiter = limiterOn('  - {scope: connection, requests: 100, per: 1s}', clock, 1000);
    await limiter.before('list_things');
    limiter.answered('list_things', { status: 429, headers: { 'retry-after': '2' } });
    await expect(limiter.before('list_things')).rejects.toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 2000,
    });
  });

  it('stops waiting when the caller goes away', async () => {
    const clock: Clock = {
      now: () => 0,
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => {
          if (signal?.aborted) reject(signal.reason as Error);
          signal?.addEventListener('abort', () => reject(signal.reason as Error));
        }),
    };
    const limiter = limiterOn('  - {scope: connection, requests: 1, per: 1s}', clock);
    await limiter.before('list_things');
    const gone = new AbortController();
    const waiting = limiter.before('list_things', gone.signal);
    gone.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
  });
});

describe('provider signals', () => {
  it("reads Retry-After, GitHub's remaining 0 until reset, and Slack's ratelimited code", () => {
    const c = connector(
      '  - {scope: connection, requests: 1, per: 1s}',
      'rate_limit:\n  retry_after_headers: [Retry-After]\n  reset_headers: [X-RateLimit-Reset]\n  remaining_headers: [X-RateLimit-Remaining]\n  codes: [ratelimited]',
    );
    const now = 1_700_000_000_000;
    expect(providerPause(c, { status: 429, headers: { 'retry-after': '2' } }, undefined, now)).toBe(2000);
    expect(
      providerPause(
        c,
        {
          status: 200,
          headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 30) },
        },
        undefined,
        now,
      ),
    ).toBe(30_000);
    expect(
      providerPause(
        c,
        {
          status: 200,
          headers: { 'x-ratelimit-remaining': '7', 'x-ratelimit-reset': String(now / 1000 + 30) },
        },
        undefined,
        now,
      ),
    ).toBeUndefined();
    expect(providerPause(c, { status: 200, headers: {}, failedCode: 'ratelimited' }, undefined, now)).toBe(
      1000,
    );
    // A hostile reset a year away pauses an hour at most.
    expect(
      providerPause(
        c,
        { status: 429, headers: { 'x-ratelimit-reset': String(now / 1000 + 3e7) } },
        undefined,
        now,
      ),
    ).toBe(3_600_000);
  });
});

describe('rate_limits in a definition', () => {
  it('takes a list, or {max_wait, limits}', () => {
    expect(connector('  - {scope: connection, requests: 5, per: 1s}').rateLimits).toEqual({
      maxWaitMs: 10_000,
      limits: [{ scope: 'connection', requests: 5, per: '1s' }],
    });
    expect(
      connector('  max_wait: 2s\n  limits:\n    - {scope: connector, requests: 5, per: 1m, burst: 5}')
        .rateLimits,
    ).toEqual({ maxWaitMs: 2000, limits: [{ scope: 'connector', requests: 5, per: '1m', burst: 5 }] });
  });

  it('refuses hostile values, each located', () => {
    const cases: [string, string][] = [
      [
        '  - {scope: connection, requests: 0, per: 1s}',
        '11:35: rate_limits[0].requests: expected at least 1, found the integer 0',
      ],
      [
        '  - {scope: connection, requests: 100000000, per: 1s}',
        '11:35: rate_limits[0].requests: expected at most 1000000, found the integer 100000000',
      ],
      [
        '  - {scope: connection, requests: 5.5, per: 1s}',
        '11:35: rate_limits[0].requests: expected an integer, found the number 5.5',
      ],
      [
        '  - {scope: connection, requests: 5, per: 1d}',
        '11:43: rate_limits[0].per: expected one of 1s, 1m, 1h, found "1d"',
      ],
      [
        '  - {scope: everyone, requests: 5, per: 1s}',
        '11:13: rate_limits[0].scope: expected one of connection, connector, found "everyone"',
      ],
      [
        '  - {scope: connection, requests: 5, per: 1s, endpoints: [list_thing]}',
        '11:59: rate_limits[0].endpoints[0]: no endpoint is named "list_thing" (did you mean "list_things"?)',
      ],
      [
        '  - {scope: connection, requests: 5, per: 1s, endpoints: [list_things, list_things]}',
        '11:72: rate_limits[0].endpoints[1]: endpoint "list_things" is named twice',
      ],
      [
        '  - {scope: connection, requests: 5, per: 1s}\n  - {scope: connection, requests: 9, per: 1s}',
        '12:5: rate_limits[1]: limit 1 already counts these calls per 1s at connection scope: give one limit, with the lower requests',
      ],
      [
        '  - {scope: connection, requests: 5, per: 1s, burst: 6}',
        "11:54: rate_limits[0].burst: burst 6 is more than requests 5: a burst is part of the period's requests",
      ],
      [
        '  max_wait: 10m\n  limits: []',
        '11:13: rate_limits.max_wait: expected a duration in ms or s, e.g. 10s or 500ms (at most 60s), found "10m"',
      ],
      [
        '  max_wait: 90s\n  limits: []',
        '11:13: rate_limits.max_wait: max_wait 90s is longer than 60s: a caller would wait with no answer longer than a client or proxy keeps a request open',
      ],
    ];
    for (const [limits, expected] of cases) expect(problems(limits)).toEqual([`demo.yaml:${expected}`]);
  });
});
