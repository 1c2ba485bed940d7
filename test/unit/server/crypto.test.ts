import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConnectrError } from '../../../src/core/errors.js';
import { KeyRing, keyIdOf, parseKey } from '../../../src/server/crypto.js';

const key = (): Buffer => randomBytes(32);

function refused(fn: () => unknown): ConnectrError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectrError);
    return error as ConnectrError;
  }
  throw new Error('expected a ConnectrError');
}

describe('key ring (AES-256-GCM with key ids)', () => {
  it('round-trips, and every ciphertext names its key and is fresh', () => {
    const k = key();
    const ring = new KeyRing({ current: k });
    const a = ring.encrypt('ya29.secret-token', 'credentials.secret:conn_1');
    const b = ring.encrypt('ya29.secret-token', 'credentials.secret:conn_1');
    expect(a).not.toBe(b);
    expect(a).not.toContain('secret-token');
    const parts = a.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[0]).toBe('v1');
    expect(parts[1]).toBe(keyIdOf(k));
    expect(Buffer.from(parts[2] ?? '', 'base64url')).toHaveLength(12);
    expect(ring.decrypt(a, 'credentials.secret:conn_1')).toBe('ya29.secret-token');
    expect(ring.decrypt(ring.encrypt('', 'x'), 'x')).toBe('');
    expect(ring.decrypt(ring.encrypt('é✓\u0000', 'x'), 'x')).toBe('é✓\u0000');
  });

  it('reads what an old key sealed, and writes with the current one', () => {
    const oldKey = key();
    const sealed = new KeyRing({ current: oldKey }).encrypt('v', 'c');
    const ring = new KeyRing({ current: key(), old: [oldKey] });
    expect(ring.decrypt(sealed, 'c')).toBe('v');
    expect(ring.isCurrent(sealed, 'c')).toBe(false);
    expect(ring.isCurrent(ring.encrypt('v', 'c'), 'c')).toBe(true);
  });

  it('refuses a value sealed with a key it does not have, naming the fix', () => {
    const sealed = new KeyRing({ current: key() }).encrypt('v', 'c');
    const error = refused(() => new KeyRing({ current: key() }).decrypt(sealed, 'c'));
    expect(error.message).toContain(sealed.split('.')[1]);
    expect(error.hint).toContain('CONNECTR_ENCRYPTION_KEYS_OLD');
  });

  it('refuses any altered part, a wrong key with the same id slot, and a value moved to another row', () => {
    const ring = new KeyRing({ current: key() });
    const sealed = ring.encrypt('a secret value', 'credentials.secret:conn_1');
    const parts = sealed.split('.');
    for (let i = 2; i < 5; i++) {
      const bytes = Buffer.from(parts[i] ?? '', 'base64url');
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      const altered = parts.map((p, j) => (j === i ? bytes.toString('base64url') : p)).join('.');
      expect(refused(() => ring.decrypt(altered, 'credentials.secret:conn_1')).code).toBe('internal');
    }
    expect(refused(() => ring.decrypt(sealed, 'credentials.secret:conn_2')).message).toContain('integrity');
    for (const junk of ['', 'v1', 'v2.a.b.c.d', `${sealed}.x`, sealed.replace('v1', 'v0'), 'v1.a.b!.c.d']) {
      expect(refused(() => ring.decrypt(junk, 'c')).code).toBe('internal');
    }
  });

  it('takes keys from the environment and refuses malformed ones with how to make one', () => {
    const current = key();
    const old = key();
    const ring = KeyRing.fromEnv({
      CONNECTR_ENCRYPTION_KEY: current.toString('base64'),
      CONNECTR_ENCRYPTION_KEYS_OLD: ` ${old.toString('base64')} ,`,
    });
    expect(ring?.currentId).toBe(keyIdOf(current));
    expect(ring?.decrypt(new KeyRing({ current: old }).encrypt('x', 'c'), 'c')).toBe('x');
    expect(KeyRing.fromEnv({})).toBeUndefined();
    expect(parseKey(current.toString('base64url'), 'K')).toEqual(current);
    for (const bad of [
      'short',
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('base64'),
      'é'.repeat(44),
    ]) {
      const error = refused(() => KeyRing.fromEnv({ CONNECTR_ENCRYPTION_KEY: bad }));
      expect(error.code).toBe('invalid_input');
      expect(error.message).toContain('CONNECTR_ENCRYPTION_KEY');
      expect(error.message).not.toContain(bad);
      expect(error.hint).toContain('openssl rand -base64 32');
    }
    const error = refused(() =>
      KeyRing.fromEnv({
        CONNECTR_ENCRYPTION_KEY: current.toString('base64'),
        CONNECTR_ENCRYPTION_KEYS_OLD: 'nope',
      }),
    );
    expect(error.message).toContain('CONNECTR_ENCRYPTION_KEYS_OLD (entry 1)');
  });
});
