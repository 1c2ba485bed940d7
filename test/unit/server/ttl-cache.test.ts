import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../../src/server/cache/ttl-cache.js';

/** The instance cache under the server's API-key and connection reads (src/server/cache). */

function clock(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_000_000;
  return { now: () => at, advance: (ms) => (at += ms) };
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('TtlCache', () => {
  it('keeps a found value for the cache time, then reads again', async () => {
    const c = clock();
    const cache = new TtlCache<string>({ ttlMs: 2000, maxEntries: 10, now: c.now });
    let reads = 0;
    const read = (): Promise<string> => Promise.resolve(`v${++reads}`);
    expect(await cache.get('k', read)).toBe('v1');
    c.advance(1999);
    expect(await cache.get('k', read)).toBe('v1');
    c.advance(1);
    expect(await cache.get('k', read)).toBe('v2');
    expect(reads).toBe(2);
  });

  it('keeps no miss and no failure: each is asked again', async () => {
    const cache = new TtlCache<string>({ ttlMs: 2000, maxEntries: 10 });
    let reads = 0;
    expect(await cache.get('k', () => Promise.resolve((reads++, undefined)))).toBeUndefined();
    expect(await cache.get('k', () => Promise.resolve((reads++, undefined)))).toBeUndefined();
    await expect(cache.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', () => Promise.resolve('up'))).toBe('up');
    expect(reads).toBe(2);
  });

  it('callers of one key share the read under way', async () => {
    const cache = new TtlCache<string>({ ttlMs: 2000, maxEntries: 10 });
    const pending = deferred<string>();
    let reads = 0;
    const read = (): Promise<string> => (reads++, pending.promise);
    const all = Promise.all([cache.get('k', read), cache.get('k', read), cache.get('k', read)]);
    pending.resolve('v');
    expect(await all).toEqual(['v', 'v', 'v']);
    expect(reads).toBe(1);
  });

  it('forget drops the entry; a read under way when it was forgotten is not kept', async () => {
    const cache = new TtlCache<string>({ ttlMs: 2000, maxEntries: 10 });
    expect(await cache.get('k', () => Promise.resolve('old'))).toBe('old');
    cache.forget('k');
    expect(await cache.get('k', () => Promise.resolve('new'))).toBe('new');
    // An old read still under way when a change is made answers its callers, but is not kept.
    cache.forget('k');
    const slow = deferred<string>();
    const before = cache.get('k', () => slow.promise);
    cache.forget('k');
    const after = cache.get('k', () => Promise.resolve('after'));
    slow.resolve('stale');
    expect(await before).toBe('stale');
    expect(await after).toBe('after');
    expect(await cache.get('k', () => Promise.resolve('unused'))).toBe('after');
  });

  it('holds at most maxEntries, dropping the oldest', async () => {
    const cache = new TtlCache<number>({ ttlMs: 2000, maxEntries: 3 });
    for (let i = 0; i < 5; i++) await cache.get(`k${i}`, () => Promise.resolve(i));
    expect(cache.size).toBe(3);
    expect(await cache.get('k0', () => Promise.resolve(-1))).toBe(-1);
    expect(await cache.get('k4', () => Promise.resolve(-1))).toBe(4);
  });

  it('with a cache time of 0 reads every time', async () => {
    const cache = new TtlCache<string>({ ttlMs: 0, maxEntries: 10 });
    let reads = 0;
    const read = (): Promise<string> => Promise.resolve(`v${++reads}`);
    expect(await cache.get('k', read)).toBe('v1');
    expect(await cache.get('k', read)).toBe('v2');
    expect(cache.size).toBe(0);
  });
});
