import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { ConnectrError } from '../errors.js';
import { JsonDb } from '../fs/json-db.js';
import { entryKey } from './secret-store.js';
import type { SecretStore } from './secret-store.js';

/**
 * Secrets in a file, for machines without a keychain (headless Linux, containers). Each secret
 * is sealed with AES-256-GCM under a key derived by scrypt from the user's passphrase; the
 * entry's name is authenticated data, so a sealed value cannot be moved to another entry.
 * A sealed known value lets a wrong passphrase be told apart from a damaged file.
 */

interface Sealed {
  iv: string;
  tag: string;
  data: string;
}

interface VaultFile {
  version: 1;
  kdf?: { algorithm: 'scrypt'; N: number; r: number; p: number; salt: string };
  check?: Sealed;
  entries: Record<string, Sealed>;
}

const KDF = { N: 2 ** 15, r: 8, p: 1 };
const CHECK_TEXT = 'connectr vault';

export type PassphraseSource = (purpose: 'unlock' | 'create') => Promise<string>;

export class EncryptedFileStore implements SecretStore {
  readonly kind = 'encrypted-file';
  readonly location: string;
  private readonly db: JsonDb<VaultFile>;
  private key: { salt: string; key: Buffer } | undefined;

  constructor(
    readonly path: string,
    locksDir: string,
    private readonly passphrase: PassphraseSource,
  ) {
    this.location = `encrypted file ${path}`;
    this.db = new JsonDb<VaultFile>(path, locksDir, () => ({ version: 1, entries: {} }));
  }

  async get(service: string, account: string): Promise<string | null> {
    const vault = await this.db.read();
    const id = entryKey(service, account);
    const sealed = vault.entries[id];
    if (!sealed) return null;
    return open(await this.unlock(vault), sealed, id, this.path);
  }

  async set(service: string, account: string, secret: string): Promise<void> {
    await this.db.update(async (vault) => {
      const key = await this.unlock(vault);
      const id = entryKey(service, account);
      vault.entries[id] = seal(key, secret, id);
    });
  }

  async delete(service: string, account: string): Promise<boolean> {
    const id = entryKey(service, account);
    return this.db.update((vault) => {
      if (!(id in vault.entries)) return false;
      // Deleting needs no passphrase: nothing is decrypted.
      delete vault.entries[id];
      return true;
    });
  }

  /** Number of secrets in the file, without decrypting anything. */
  async count(): Promise<number> {
    return Object.keys((await this.db.read()).entries).length;
  }

  /** The vault's key: derived from the passphrase, checked against the file, created if new. */
  private async unlock(vault: VaultFile): Promise<Buffer> {
    if (vault.kdf && this.key?.salt === vault.kdf.salt) return this.key.key;
    if (!vault.kdf || !vault.check) {
      const salt = randomBytes(16).toString('base64');
      const key = await derive(await this.passphrase('create'), salt);
      vault.kdf = { algorithm: 'scrypt', ...KDF, salt };
      vault.check = seal(key, CHECK_TEXT, 'check');
      this.key = { salt, key };
      return key;
    }
    const key = await derive(await this.passphrase('unlock'), vault.kdf.salt, vault.kdf);
    try {
      open(key, vault.check, 'check', this.path);
    } catch {
      throw new ConnectrError('auth_required', `the passphrase does not unlock ${this.path}`, {
        hint: 'check CONNECTR_VAULT_PASSPHRASE (or the passphrase you typed)',
      });
    }
    this.key = { salt: vault.kdf.salt, key };
    return key;
  }
}

function derive(passphrase: string, salt: string, params = KDF): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase,
      Buffer.from(salt, 'base64'),
      32,
      { ...params, maxmem: 128 * params.N * params.r * 2 },
      (error, key) => {
        if (error) reject(error);
        else resolve(key);
      },
    );
  });
}

function seal(key: Buffer, plaintext: string, id: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(id, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

function open(key: Buffer, sealed: Sealed, id: string, path: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(id, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new ConnectrError(
      'invalid_input',
      `an entry of ${path} does not decrypt: the file was altered or damaged`,
      {
        hint: 'log in again with `connectr auth <connector>` to replace it',
      },
    );
  }
}
