import { ConnectrError } from '../../core/errors.js';
import type { ServerStore } from '../contracts.js';
import { serverCaches } from '../cache/caches.js';
import type { ServerCaches } from '../cache/caches.js';
import { KeyRing, MAKE_KEY_HINT, newKeyText, parseKey } from '../crypto.js';
import { hashOf, verifyApiKey } from './api-keys.js';
import { checkReady, openDatabase, unreachable } from './db.js';
import { notifyPeers } from './notify.js';
import { isConnectionError } from './outage.js';
import type { Database, Db } from './db.js';
import { settingsOf } from '../settings.js';
import type { SettingsSource } from '../settings.js';

/**
 * What `connectr serve` opens: the database (migrated), the key ring, and the ServerStore the
 * HTTP layer is built from.
 */

/** Where the PGlite server's generated key is kept: the CLI's credential store (keychain or encrypted file). */
export interface KeySecrets {
  /** Where, in words, for messages: "system keychain (Secret Service)". */
  readonly location: string;
  get(service: string, account: string): Promise<string | null>;
  set(service: string, account: string, secret: string): Promise<void>;
}

/** The settings `connectr serve` parsed, or the environment to parse them from (SettingsSource). */
export interface OpenServerStoreOptions extends SettingsSource {
  /** connectr's data directory (resolvePaths(env).dataDir). */
  readonly dataDir: string;
  /** Keeps the generated encryption key of a PGlite server; unused with CONNECTR_ENCRYPTION_KEY. */
  readonly secrets: KeySecrets;
  /** Told once when a key is generated (where it went). */
  readonly notify?: ((message: string) => void) | undefined;
  /** The caches' clock (tests); Date.now by default. */
  readonly now?: (() => number) | undefined;
}

export interface OpenedServerStore extends ServerStore {
  readonly database: Database;
  readonly db: Db;
  readonly keys: KeyRing;
  readonly caches: ServerCaches;
}

/** The credential-store entry holding a PGlite server's key: one per data directory. */
export function pgliteKeyEntry(dataDir: string): { service: string; account: string } {
  return { service: `connectr-server:${dataDir}`, account: 'encryption-key' };
}

export async function openServerStore(options: OpenServerStoreOptions): Promise<OpenedServerStore> {
  // Settings are checked before the database is opened.
  const settings = settingsOf(options);
  const postgres = Boolean(settings.DATABASE_URL?.trim());
  const caches = serverCaches(settings.CONNECTR_CACHE_MS, options.now);
  // Refuse a bad or missing key before touching the database.
  let ring = KeyRing.fromSettings(settings);
  if (!ring && postgres) {
    throw new ConnectrError('invalid_input', 'DATABASE_URL is set but CONNECTR_ENCRYPTION_KEY is not', {
      hint: `${MAKE_KEY_HINT}, set CONNECTR_ENCRYPTION_KEY to it on every server of this database, and keep a copy: without it the stored tokens cannot be read`,
    });
  }
  const database = await openDatabase({ settings, dataDir: options.dataDir });
  const send = notifyPeers(database);
  if (send) caches.notices.sendWith(send);
  try {
    // PGlite without a key: the one generated on first start, kept in the credential store.
    // Read after the PGlite lock is ours, so two first starts cannot make two keys.
    if (!postgres && ring) {
      // A key of the user's own replaces the generated one, which stays readable until
      // rotate-key has re-encrypted everything.
      const stored = await storedPgliteKey(options);
      if (stored) ring = ring.withOldKey(stored);
    }
    ring ??= KeyRing.fromSettings(settings, await pgliteKey(options));
  } catch (error) {
    await database.close();
    throw error;
  }
  if (!ring) throw new Error('no key ring');
  const keys = ring;
  const db = database.db;
  return {
    backend: database.backend,
    database,
    db,
    keys,
    caches,
    apiKeys: {
      verify: (secret) =>
        caches.apiKeys.get(hashOf(secret).toString('hex'), () =>
          guard(database, () => verifyApiKey(db, secret)),
        ),
    },
    readiness: { ready: () => checkReady(database) },
    close: () => database.close(),
  };
}

async function pgliteKey(options: OpenServerStoreOptions): Promise<Buffer> {
  const { service, account } = pgliteKeyEntry(options.dataDir);
  const what = `the server's encryption key in the ${options.secrets.location}`;
  const stored = await options.secrets.get(service, account);
  if (stored) return parseKey(stored, what);
  const text = newKeyText();
  await options.secrets.set(service, account, text);
  options.notify?.(
    `Generated the server's encryption key and stored it in the ${options.secrets.location} (set CONNECTR_ENCRYPTION_KEY to use your own).`,
  );
  return parseKey(text, what);
}

/** The generated key, if one was kept; unreadable (no keychain, no passphrase) counts as none. */
async function storedPgliteKey(options: OpenServerStoreOptions): Promise<Buffer | undefined> {
  const { service, account } = pgliteKeyEntry(options.dataDir);
  try {
    const stored = await options.secrets.get(service, account);
    return stored ? parseKey(stored, 'the stored server key') : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a query, turning a lost database connection into ConnectrError('unavailable'). */
export async function guard<T>(database: Database, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof ConnectrError) && isConnectionError(error))
      throw unreachable(database.location, error);
    throw error;
  }
}
