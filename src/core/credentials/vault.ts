import { join } from 'node:path';
import { ConnectrError } from '../errors.js';
import type { ConnectrPaths } from '../paths.js';
import type { CoreSettings } from '../settings/core.js';
import { EncryptedFileStore } from './encrypted-file.js';
import type { PassphraseSource } from './encrypted-file.js';
import { KeychainStore } from './keychain.js';
import { PlaintextFileStore } from './plaintext-file.js';
import type { SecretStore, StoreKind } from './secret-store.js';

/**
 * Chooses where secrets go and finds them again. New secrets go to the OS keychain; when none
 * is reachable, to the encrypted file (and the user is told once, at the moment it happens);
 * to plaintext only when the user asked for it with --insecure-storage. Each account records
 * its store, so reading never guesses.
 */
export interface VaultOptions {
  readonly settings: Pick<CoreSettings, 'CONNECTR_HOME' | 'CONNECTR_KEYCHAIN_TIMEOUT_MS' | 'CONNECTR_STORE'>;
  readonly paths: ConnectrPaths;
  readonly passphrase: PassphraseSource;
}

export type KeychainStatus =
  { readonly available: true } | { readonly available: false; readonly reason: string };

export class Vault {
  readonly keychain: KeychainStore;
  readonly encrypted: EncryptedFileStore;
  readonly plaintext: PlaintextFileStore;
  private keychainStatus: Promise<KeychainStatus> | undefined;
  /** The fallback is announced once per run, however many secrets are stored. */
  private announced = false;

  constructor(private readonly options: VaultOptions) {
    const { paths, settings } = options;
    const locks = join(paths.dataDir, 'locks');
    this.keychain = new KeychainStore(
      settings.CONNECTR_KEYCHAIN_TIMEOUT_MS,
      settings.CONNECTR_HOME ? paths.dataDir : undefined,
    );
    this.encrypted = new EncryptedFileStore(join(paths.dataDir, 'vault.json'), locks, options.passphrase);
    this.plaintext = new PlaintextFileStore(join(paths.dataDir, 'insecure-secrets.json'), locks);
  }

  store(kind: StoreKind): SecretStore {
    switch (kind) {
      case 'keychain':
        return this.keychain;
      case 'encrypted-file':
        return this.encrypted;
      case 'plaintext-file':
        return this.plaintext;
    }
  }

  /** Whether the OS keychain answers; asked once per process. */
  keychainAvailable(): Promise<KeychainStatus> {
    this.keychainStatus ??= this.keychain
      .probe()
      .then((r): KeychainStatus => (r.ok ? { available: true } : { available: false, reason: r.reason }));
    return this.keychainStatus;
  }

  /** What CONNECTR_STORE asks for: keychain, file, or auto (unset); checked when the settings were parsed. */
  preference(): 'auto' | 'keychain' | 'file' {
    return this.options.settings.CONNECTR_STORE;
  }

  /**
   * The store for a new secret, with the sentence that says why when it is not the keychain.
   * `insecure` is the user's explicit --insecure-storage.
   */
  async forNewSecrets(insecure: boolean): Promise<{ store: SecretStore; notice?: string | undefined }> {
    if (insecure) {
      return {
        store: this.plaintext,
        notice: `--insecure-storage: secrets are stored unencrypted in ${this.plaintext.path}`,
      };
    }
    const preference = this.preference();
    if (preference === 'file') return { store: this.encrypted };
    const status = await this.keychainAvailable();
    if (status.available) return { store: this.keychain };
    if (preference === 'keychain') {
      throw new ConnectrError('unavailable', `no system keychain is reachable: ${status.reason}`, {
        hint: 'unset CONNECTR_STORE to fall back to the encrypted file store',
      });
    }
    const notice = this.announced
      ? undefined
      : `no system keychain is reachable (${status.reason}); secrets go to the encrypted file ${this.encrypted.path}`;
    this.announced = true;
    return { store: this.encrypted, notice };
  }
}
