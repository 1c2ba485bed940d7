import { describe, expect, it } from 'vitest';
import { serverCaches } from '../../../src/server/cache/caches.js';
import {
  MAX_PAYLOAD_BYTES,
  connectionKey,
  decodeInvalidation,
  encodeInvalidation,
} from '../../../src/server/cache/invalidate.js';
import type { RefusedReason } from '../../../src/server/cache/invalidate.js';
import type { ApiKeyIdentity } from '../../../src/server/contracts.js';
import type { CallTarget } from '../../../src/server/credentials/target.js';

/**
 * The messages instances send each other about their caches (src/server/cache/invalidate.ts).
 * Whoever may NOTIFY on the database can put anything on the channel: what is not one of ours
 * is ignored, counted, and logged once per reason, never acted on, never thrown.
 */

const identity = (keyId: string): ApiKeyIdentity => ({ keyId }) as unknown as ApiKeyIdentity;
const target = {} as CallTarget;

function filled(): ReturnType<typeof serverCaches> {
  const caches = serverCaches(60_000);
  void caches.apiKeys.get('hash-1', () => Promise.resolve(identity('key_1')));
  void caches.apiKeys.get('hash-2', () => Promise.resolve(identity('key_2')));
  void caches.connections.get(connectionKey('prj_1', 'conn_1'), () => Promise.resolve(target));
  void caches.connections.get(connectionKey('prj_1', 'conn_2'), () => Promise.resolve(target));
  return caches;
}

/** Lets the reads above settle into the caches. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('cache invalidation messages', () => {
  it('round-trip, naming the cache and the entry, with ids only', () => {
    const payload = encodeInvalidation({ cache: 'connections', key: connectionKey('prj_1', 'conn_1') }, 'me');
    expect(decodeInvalidation(payload)).toEqual({
      ok: true,
      from: 'me',
      change: { cache: 'connections', key: 'prj_1\nconn_1' },
    });
    expect(Buffer.byteLength(payload)).toBeLessThan(200);
  });

  it('an entry key too long to be an id is refused when sending', () => {
    expect(() => encodeInvalidation({ cache: 'api_keys', key: 'k'.repeat(257) }, 'me')).toThrow(
      /longer than/,
    );
  });

  const hostile: readonly [string, string, RefusedReason][] = [
    ['not JSON', 'not json', 'malformed'],
    ['truncated JSON', '{"v":1,"from":"x","cache":"api_keys","key":"k"', 'malformed'],
    ['an array', '[1,2]', 'malformed'],
    ['null', 'null', 'malformed'],
    ['a string', '"api_keys"', 'malformed'],
    ['no version', '{"from":"x","cache":"api_keys","key":"k"}', 'malformed'],
    ['a version not a whole number', '{"v":1.5,"from":"x","cache":"api_keys","key":"k"}', 'malformed'],
    ['a newer version', '{"v":2,"from":"x","cache":"api_keys","key":"k"}', 'newer_version'],
    ['no key', '{"v":1,"from":"x","cache":"api_keys"}', 'malformed'],
    ['an empty key', '{"v":1,"from":"x","cache":"api_keys","key":""}', 'malformed'],
    ['a key not a string', '{"v":1,"from":"x","cache":"api_keys","key":{"a":1}}', 'malformed'],
    ['a key too long', `{"v":1,"from":"x","cache":"api_keys","key":"${'k'.repeat(300)}"}`, 'malformed'],
    ['no sender', '{"v":1,"cache":"api_keys","key":"k"}', 'malformed'],
    ['an unknown cache', '{"v":1,"from":"x","cache":"sessions","key":"k"}', 'unknown_cache'],
    ['__proto__ as the cache', '{"v":1,"from":"x","cache":"__proto__","key":"k"}', 'unknown_cache'],
    ['toString as the cache', '{"v":1,"from":"x","cache":"toString","key":"k"}', 'unknown_cache'],
    ['a cache not a string', '{"v":1,"from":"x","cache":["api_keys"],"key":"k"}', 'unknown_cache'],
    [
      'oversized',
      `{"v":1,"from":"x","cache":"api_keys","key":"k","pad":"${'p'.repeat(MAX_PAYLOAD_BYTES)}"}`,
      'oversized',
    ],
    ['oversized in bytes, not in characters', `"${'€'.repeat(3000)}"`, 'oversized'],
  ];

  it.each(hostile)('%s is refused', (_, payload, reason) => {
    expect(decodeInvalidation(payload)).toEqual({ ok: false, reason });
  });

  it('a received message forgets the entry it names, and nothing else', async () => {
    const caches = filled();
    await settled();
    caches.notices.received(encodeInvalidation({ cache: 'api_keys', key: 'key_1' }, 'other'));
    caches.notices.received(
      encodeInvalidation({ cache: 'connections', key: connectionKey('prj_1', 'conn_2') }, 'other'),
    );
    expect(caches.apiKeys.size).toBe(1);
    expect(caches.connections.size).toBe(1);
    let read = false;
    await caches.apiKeys.get('hash-2', () => {
      read = true;
      return Promise.resolve(identity('key_2'));
    });
    expect(read).toBe(false);
    expect(caches.notices.counts).toMatchObject({ received: 2, refused: 0 });
  });

  it("this instance's own messages are not acted on again", async () => {
    const caches = filled();
    await settled();
    caches.notices.received(encodeInvalidation({ cache: 'api_keys', key: 'key_1' }, caches.notices.origin));
    expect(caches.apiKeys.size).toBe(2);
    expect(caches.notices.counts.received).toBe(0);
  });

  it('hostile messages leave the caches alone, are counted, and told once per reason', async () => {
    const caches = filled();
    await settled();
    const told: RefusedReason[] = [];
    caches.notices.onRefused = (reason) => told.push(reason);
    for (const [, payload] of [...hostile, ...hostile]) caches.notices.received(payload);
    expect(caches.apiKeys.size).toBe(2);
    expect(caches.connections.size).toBe(2);
    expect(caches.notices.counts.refused).toBe(hostile.length * 2);
    expect(told.sort()).toEqual(['malformed', 'newer_version', 'oversized', 'unknown_cache']);
  });

  it('a change is forgotten here first, then sent; a failed send never rejects', async () => {
    const caches = filled();
    await settled();
    const sent: string[] = [];
    caches.notices.sendWith((payload) => {
      sent.push(payload);
      return Promise.resolve();
    });
    await caches.notices.changed({ cache: 'api_keys', key: 'key_2' });
    expect(caches.apiKeys.size).toBe(1);
    expect(sent.map((p) => decodeInvalidation(p))).toEqual([
      { ok: true, from: caches.notices.origin, change: { cache: 'api_keys', key: 'key_2' } },
    ]);
    caches.notices.sendWith(() => Promise.reject(new Error('the database went away')));
    await expect(
      caches.notices.changed({ cache: 'connections', key: connectionKey('prj_1', 'conn_1') }),
    ).resolves.toBeUndefined();
    expect(caches.connections.size).toBe(1);
    expect(caches.notices.counts.sent).toBe(1);
  });

  it('forgetAll empties every cache of the database', async () => {
    const caches = filled();
    await settled();
    caches.notices.forgetAll();
    expect(caches.apiKeys.size + caches.connections.size).toBe(0);
  });
});
