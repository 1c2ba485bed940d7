import { describe, expect, it } from 'vitest';
import { KeychainStore } from '../../../src/core/credentials/keychain.js';

const hasKeychain = process.env.CONNECTR_TEST_KEYCHAIN === '1';

describe('keychain store', () => {
  it.skipIf(!hasKeychain)('stores, reads and deletes a secret in the real Secret Service', async () => {
    const store = new KeychainStore(5000);
    const service = `connectr-test:${process.pid}`;
    expect(await store.get(service, 'a')).toBeNull();
    await store.set(service, 'a', 'v1');
    await store.set(service, 'b', 'v2');
    expect(await store.get(service, 'a')).toBe('v1');
    expect(await store.get(service, 'b')).toBe('v2');
    await store.set(service, 'a', 'v1-changed');
    expect(await store.get(service, 'a')).toBe('v1-changed');
    expect(await store.delete(service, 'a')).toBe(true);
    expect(await store.delete(service, 'a')).toBe(false);
    expect(await store.get(service, 'a')).toBeNull();
    expect(await store.probe()).toEqual({ ok: true });
  });
});
