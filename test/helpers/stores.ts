import { join } from 'node:path';
import { EncryptedFileStore } from '../../src/core/credentials/encrypted-file.js';
import { KeychainStore } from '../../src/core/credentials/keychain.js';

/**
 * The two places connectr keeps secrets, as test variants: the system keychain (the private
 * one test/setup/keychain.ts starts, where it can) and the encrypted file store (always). Tests
 * of refresh, locking and logout run on each, so they never all skip for want of a keychain.
 */
export interface StoreVariant {
  readonly name: 'keychain' | 'encrypted-file';
  /** Whether this machine can run the variant (the file store always can). */
  readonly available: boolean;
  /** Added to a test's environment: makes connectr use this store, and only this one. */
  readonly env: Record<string, string>;
  /** The stored secret of an account, read as connectr would, for checking what was stored. */
  secret(home: string, service: string, account: string): Promise<string | null>;
}

export const VAULT_PASSPHRASE = 'correct horse battery staple';

const KEYCHAIN: StoreVariant = {
  name: 'keychain',
  available: process.env.CONNECTR_TEST_KEYCHAIN === '1',
  env: { CONNECTR_STORE: 'keychain' },
  secret: (home, service, account) => new KeychainStore(5000, home).get(service, account),
};

/** The encrypted file variant: runs everywhere. */
export const FILE_STORE: StoreVariant = {
  name: 'encrypted-file',
  available: true,
  env: {
    CONNECTR_STORE: 'file',
    CONNECTR_VAULT_PASSPHRASE: VAULT_PASSPHRASE,
    // No keychain either: nothing can land there by mistake.
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/connectr-bus',
  },
  secret: (home, service, account) =>
    new EncryptedFileStore(join(home, 'vault.json'), join(home, 'locks'), () =>
      Promise.resolve(VAULT_PASSPHRASE),
    ).get(service, account),
};

export const STORE_VARIANTS: readonly StoreVariant[] = [KEYCHAIN, FILE_STORE];
