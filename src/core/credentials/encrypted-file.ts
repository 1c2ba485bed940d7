import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { ConnectrError } from '../errors.js';
import { JsonDb } from '../fs/json-db.js';
import type { FileShape } from '../fs/json-db.js';
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

interface KdfParams {
  N: number;
  r: number;
  p: number;
}

interface VaultFile {
  version: 1;
  kdf?: KdfParams & { algorithm: 'scrypt'; salt: string };
  check?: Sealed;
  entries: Record<string, Sealed>;
}

const vaultFileSchema: FileShape['schema'] = (z) => {
  const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64');
  const SealedSchema = z.object({ iv: base64, tag: base64, data: base64 });
  return z.object({
    version: z.literal(1),
    kdf: z
      .object({
        algorithm: z.literal('scrypt'),
        N: z.number().int(),
        r: z.number().int(),
        p: z.number().int(),
        salt: base64,
      })
      .optional(),
    check: SealedSchema.optional(),
    entries: z.record(z.string(), SealedSchema),
  });
};

/** New vaults: scrypt with N = 2^17, r = 8, p = 1 (OWASP's minimum; about 128 MiB). */
const KDF: KdfParams = { N: 2 ** 17, r: 8, p: 1 };
/**
 * What a vault file may ask for. The parameters come from the file, so they are bounded: a
 * file with N = 2^24 would otherwise take 16 GiB and minutes before the passphrase is checked.
 */
const KDF_LIMITS = { maxN: 2 ** 20, minN: 2 ** 10, maxR: 32, maxP: 16, maxMemory: 2 ** 30 };
/** GCM tags are always 16 bytes here; a shorter tag would be weaker and is refused. */
const TAG_BYTES = 16;
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
    this.db = new JsonDb<VaultFile>(path, locksDir, () => ({ version: 1, entries: {} }), {
      schema: vaultFileSchema,
      what: "connectr's encrypted vault",
    });
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
      // Without its key parameters or check entry the passphrase cannot be verified; starting a
      // new key over existing entries would leave them (and later ones) under different keys.
      if (Object.keys(vault.entries).length > 0) {
        throw new ConnectrError(
          'invalid_input',
          `${this.path} holds secrets but lacks its ${vault.kdf ? 'check entry' : 'key parameters'}, so its passphrase cannot be checked`,
          {
            hint: 'restore the file from a backup; or move it away and sign in again (connectr does not change it)',
          },
        );
      }
      const salt = randomBytes(16).toString('base64');
      const key = await derive(await this.passphrase('create'), salt);
      vault.kdf = { algorithm: 'scrypt', ...KDF, salt };
      vault.check = seal(key, CHECK_TEXT, 'check');
      this.key = { salt, key };
      return key;
    }
    const params = checkKdf(vault.kdf, this.path);
    const key = await derive(await this.passphrase('unlock'), vault.kdf.salt, params);
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

/** The file's scrypt parameters, when they are ones connectr would use; an error otherwise. */
function checkKdf(kdf: KdfParams, path: string): KdfParams {
  const { N, r, p } = kdf;
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  const problems = [
    ...(!powerOfTwo || N < KDF_LIMITS.minN || N > KDF_LIMITS.maxN
      ? [`N=${N} (a power of two from 2^10 to 2^20)`]
      : []),
    ...(r < 1 || r > KDF_LIMITS.maxR ? [`r=${r} (1 to ${KDF_LIMITS.maxR})`] : []),
    ...(p < 1 || p > KDF_LIMITS.maxP ? [`p=${p} (1 to ${KDF_LIMITS.maxP})`] : []),
    ...(128 * N * r > KDF_LIMITS.maxMemory ? [`N*r=${N * r} (needs over 1 GiB of memory)`] : []),
  ];
  if (problems.length) {
    throw new ConnectrError(
      'invalid_input',
      `${path} asks for scrypt parameters connectr does not accept: ${problems.join(', ')}`,
      {
        hint: 'the file was altered or damaged: restore it from a backup, or move it away and sign in again',
      },
    );
  }
  return { N, r, p };
}

function derive(passphrase: string, salt: string, params: KdfParams = KDF): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase,
      Buffer.from(salt, 'base64'),
      32,
      // scrypt needs 128 * N * r bytes (plus a little); the limit is what these parameters need.
      { ...params, maxmem: 128 * params.N * params.r + 2 ** 20 },
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
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'), {
      authTagLength: TAG_BYTES,
    });
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
