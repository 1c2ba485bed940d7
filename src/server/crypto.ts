import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConnectrError } from '../core/errors.js';
import type { Env } from '../core/paths.js';
import { serverSettings } from './settings.js';
import type { ServerSettings } from './settings.js';

/**
 * The server's secrets at rest (tokens, client secrets, PKCE verifiers): AES-256-GCM under a key
 * ring. One key is current and encrypts; older keys (CONNECTR_ENCRYPTION_KEYS_OLD) only decrypt,
 * so a key can be replaced without losing what it sealed, until `connectr serve rotate-key`
 * re-encrypts every row. Each ciphertext names its key:
 *
 *   v1.<key id>.<iv>.<ciphertext>.<tag>      (each part base64url; the IV is 12 random bytes)
 *
 * The key id is derived from the key itself, so it needs no bookkeeping and reveals nothing.
 * The version, the key id and the caller's context (which row and column the value belongs to)
 * are authenticated: a value copied into another row, or altered, is refused, never decrypted
 * into garbage.
 */

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const B64URL = /^[A-Za-z0-9_-]*$/;

export const MAKE_KEY_HINT = 'make one with `openssl rand -base64 32`';

/** A key's id: the first 6 bytes of SHA-256 over a label and the key, base64url (8 characters). */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256')
    .update('connectr key id\0')
    .update(key)
    .digest()
    .subarray(0, 6)
    .toString('base64url');
}

/** A new random key, as CONNECTR_ENCRYPTION_KEY takes it (base64 of 32 bytes). */
export function newKeyText(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** A key as written in the environment: base64 (or base64url) of exactly 32 bytes. `what` names it in errors. */
export function parseKey(text: string, what: string): Buffer {
  const trimmed = text.trim();
  const wellFormed = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed);
  const bytes = wellFormed ? Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64') : undefined;
  if (bytes?.length !== KEY_BYTES) {
    const found = bytes ? `${bytes.length} bytes` : 'not base64';
    throw new ConnectrError('invalid_input', `${what} must be base64 of exactly 32 bytes (found ${found})`, {
      hint: `${MAKE_KEY_HINT} and set ${what} to its output`,
    });
  }
  return bytes;
}

export interface KeyRingOptions {
  readonly current: Buffer;
  readonly old?: readonly Buffer[];
}

export class KeyRing {
  readonly currentId: string;
  private readonly current: Buffer;
  private readonly keys = new Map<string, Buffer>();

  private readonly old: readonly Buffer[];

  constructor(options: KeyRingOptions) {
    this.current = options.current;
    this.old = options.old ?? [];
    this.currentId = keyIdOf(options.current);
    for (const key of options.old ?? []) this.keys.set(keyIdOf(key), key);
    this.keys.set(this.currentId, this.current);
  }

  /**
   * The ring from CONNECTR_ENCRYPTION_KEY and CONNECTR_ENCRYPTION_KEYS_OLD (comma-separated), or
   * undefined when no current key is set. A malformed key is an error, never skipped.
   */
  static fromEnv(env: Env, fallbackCurrent?: Buffer): KeyRing | undefined {
    return KeyRing.fromSettings(serverSettings(env), fallbackCurrent);
  }

  /** The ring from the parsed settings (settings.ts), as fromEnv. */
  static fromSettings(
    settings: Pick<ServerSettings, 'CONNECTR_ENCRYPTION_KEY' | 'CONNECTR_ENCRYPTION_KEYS_OLD'>,
    fallbackCurrent?: Buffer,
  ): KeyRing | undefined {
    const text = settings.CONNECTR_ENCRYPTION_KEY?.trim();
    const current = text ? parseKey(text, 'CONNECTR_ENCRYPTION_KEY') : fallbackCurrent;
    if (!current) return undefined;
    const old = settings.CONNECTR_ENCRYPTION_KEYS_OLD.map((s, i) =>
      parseKey(s, `CONNECTR_ENCRYPTION_KEYS_OLD (entry ${i + 1})`),
    );
    return new KeyRing({ current, old });
  }

  /** This ring with one more key to read with. */
  withOldKey(key: Buffer): KeyRing {
    return new KeyRing({ current: this.current, old: [...this.old, key] });
  }

  /** Seals `plaintext` with the current key. `context` names where it is stored (e.g. `credentials:<id>`). */
  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.currentId, context));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.currentId, iv, data, cipher.getAuthTag()]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** Opens a value sealed by `encrypt` with the same `context`, with whichever key of the ring sealed it. */
  decrypt(sealed: string, context: string): string {
    const parts = parse(sealed, context);
    const key = this.keys.get(parts.keyId);
    if (!key) {
      throw new ConnectrError(
        'unavailable',
        `a stored secret (${context}) was encrypted with key ${parts.keyId}, which is not among the configured keys (current: ${this.currentId})`,
        {
          hint: 'add the key that encrypted it to CONNECTR_ENCRYPTION_KEYS_OLD (comma-separated), then run `connectr serve rotate-key`',
        },
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, parts.iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(parts.keyId, context));
      decipher.setAuthTag(parts.tag);
      return Buffer.concat([decipher.update(parts.data), decipher.final()]).toString('utf8');
    } catch (error) {
      throw tampered(context, error);
    }
  }

  /** The id of the key that sealed a value (without decrypting it). */
  keyIdOfSealed(sealed: string, context: string): string {
    return parse(sealed, context).keyId;
  }

  /** Whether a value is sealed with the current key: rotate-key leaves those alone. */
  isCurrent(sealed: string, context: string): boolean {
    return this.keyIdOfSealed(sealed, context) === this.currentId;
  }
}

function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${VERSION}.${keyId}.${context}`, 'utf8');
}

interface Parts {
  keyId: string;
  iv: Buffer;
  data: Buffer;
  tag: Buffer;
}

function parse(sealed: string, context: string): Parts {
  const parts = sealed.split('.');
  const [version, keyId, iv, data, tag] = parts;
  if (
    parts.length !== 5 ||
    version !== VERSION ||
    keyId === undefined ||
    iv === undefined ||
    data === undefined ||
    tag === undefined ||
    !parts.every((p) => B64URL.test(p))
  ) {
    throw tampered(context);
  }
  const ivBytes = Buffer.from(iv, 'base64url');
  const tagBytes = Buffer.from(tag, 'base64url');
  if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw tampered(context);
  return { keyId, iv: ivBytes, data: Buffer.from(data, 'base64url'), tag: tagBytes };
}

function tampered(context: string, cause?: unknown): ConnectrError {
  return new ConnectrError(
    'internal',
    `a stored secret (${context}) fails its integrity check: it was altered, or moved from another row`,
    {
      hint: 'restore the row from a backup, or sign the connection in again',
      cause,
    },
  );
}
