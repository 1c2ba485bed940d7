import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EncryptedFileStore } from '../../../src/core/credentials/encrypted-file.js';
import { entryKey } from '../../../src/core/credentials/secret-store.js';
import { tempHome } from '../../helpers/home.js';

/** The encrypted file vault against files that were damaged or written by someone else. */

interface Sealed {
  iv: string;
  tag: string;
  data: string;
}

interface VaultJson {
  version: 1;
  kdf?: { algorithm: 'scrypt'; N: number; r: number; p: number; salt: string };
  check?: Sealed;
  entries: Record<string, Sealed>;
}

/** Seals like connectr does (AES-256-GCM, the entry id as AAD), to build files by hand. */
function seal(key: Buffer, text: string, id: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(id, 'utf8'));
  const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

describe('encrypted file vault', () => {
  let home: ReturnType<typeof tempHome>;
  let path: string;
  beforeEach(() => {
    home = tempHome();
    path = join(home.dir, 'vault.json');
  });
  afterEach(() => {
    home.cleanup();
  });
  const store = (passphrase = 'a good passphrase'): EncryptedFileStore =>
    new EncryptedFileStore(path, join(home.dir, 'locks'), () => Promise.resolve(passphrase));
  const readVault = (): VaultJson => JSON.parse(readFileSync(path, 'utf8')) as VaultJson;

  it('creates new vaults with scrypt N = 2^17 (OWASP)', async () => {
    await store().set('connectr:gmail', 'default', 'secret');
    expect(readVault().kdf).toMatchObject({ algorithm: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
    expect(await store().get('connectr:gmail', 'default')).toBe('secret');
  });

  it('still opens a vault made with the earlier N = 2^15, and keeps its parameters', async () => {
    const salt = randomBytes(16);
    const key = scryptSync('a good passphrase', salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 2 ** 26 });
    const id = entryKey('connectr:gmail', 'default');
    const old: VaultJson = {
      version: 1,
      kdf: { algorithm: 'scrypt', N: 2 ** 15, r: 8, p: 1, salt: salt.toString('base64') },
      check: seal(key, 'connectr vault', 'check'),
      entries: { [id]: seal(key, 'old secret', id) },
    };
    writeFileSync(path, JSON.stringify(old));
    expect(await store().get('connectr:gmail', 'default')).toBe('old secret');
    await store().set('connectr:gmail', 'work', 'new secret');
    expect(readVault().kdf?.N).toBe(2 ** 15);
    expect(await store().get('connectr:gmail', 'work')).toBe('new secret');
  });

  it('refuses an entry whose authentication tag was cut to 4 bytes', async () => {
    await store().set('connectr:gmail', 'default', 'secret');
    const vault = readVault();
    const id = entryKey('connectr:gmail', 'default');
    const entry = vault.entries[id];
    if (!entry) throw new Error('no entry');
    entry.tag = Buffer.from(entry.tag, 'base64').subarray(0, 4).toString('base64');
    writeFileSync(path, JSON.stringify(vault));
    await expect(store().get('connectr:gmail', 'default')).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('does not decrypt') as unknown,
    });
  });

  it.each([
    ['N = 2^24', { N: 2 ** 24 }, /N=16777216/],
    ['N not a power of two', { N: 100_000 }, /N=100000/],
    ['r = 1000', { r: 1000 }, /r=1000/],
    ['p = 0', { p: 0 }, /p=0/],
    ['N*r over 1 GiB', { N: 2 ** 20, r: 16 }, /N\*r=/],
  ])('refuses scrypt parameters out of range (%s) before deriving anything', async (_, change, expected) => {
    await store().set('connectr:gmail', 'default', 'secret');
    const vault = readVault();
    if (!vault.kdf) throw new Error('no kdf');
    Object.assign(vault.kdf, change);
    writeFileSync(path, JSON.stringify(vault));
    const started = Date.now();
    const error: unknown = await store()
      .get('connectr:gmail', 'default')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ code: 'invalid_input' });
    expect((error as Error).message).toContain(`${path} asks for scrypt parameters`);
    expect((error as Error).message).toMatch(expected);
    // Deriving with such parameters takes many seconds (or gigabytes): refusing takes none.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('never re-keys a vault that has entries but no check entry', async () => {
    await store().set('connectr:gmail', 'default', 'secret');
    const vault = readVault();
    delete vault.check;
    writeFileSync(path, JSON.stringify(vault));
    const before = readFileSync(path, 'utf8');
    await expect(store('another passphrase').set('connectr:gmail', 'work', 'other')).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining(`${path} holds secrets but lacks its check entry`) as unknown,
    });
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it.each([
    ['an array', '[]'],
    ['entries of the wrong type', '{"version":1,"entries":5}'],
    ['an entry without its tag', '{"version":1,"entries":{"x":{"iv":"AAAA","data":"AAAA"}}}'],
  ])('refuses a file of the wrong shape (%s) without changing it', async (_, text) => {
    writeFileSync(path, text);
    await expect(store().set('connectr:gmail', 'default', 'secret')).rejects.toMatchObject({
      code: 'invalid_input',
      message: `${path} is not connectr's encrypted vault`,
    });
    await expect(store().get('connectr:gmail', 'default')).rejects.toMatchObject({ code: 'invalid_input' });
    expect(readFileSync(path, 'utf8')).toBe(text);
  });
});
