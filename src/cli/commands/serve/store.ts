import { ConnectrError } from '../../../core/errors.js';
import type { KeySecrets, OpenedServerStore } from '../../../server/store/open.js';
import type { ServerSettings } from '../../../server/settings.js';
import { MAKE_KEY_HINT } from '../../../server/crypto.js';
import { cliAuth } from '../../auth-deps.js';
import type { CliContext } from '../../context.js';

/**
 * The server's store opened from a command: `connectr serve` itself and `serve rotate-key`.
 * A PGlite server's generated encryption key lives in the CLI's own credential store: the
 * keychain, else the encrypted file, as CONNECTR_STORE and the Vault decide for any secret.
 */
export async function openStoreFor(ctx: CliContext, settings?: ServerSettings): Promise<OpenedServerStore> {
  const { openServerStore } = await import('../../../server/store/open.js');
  return openServerStore({
    env: ctx.env,
    settings,
    dataDir: ctx.paths.dataDir,
    secrets: cliKeySecrets(ctx),
    notify: (message) => {
      ctx.out.info(message);
    },
  });
}

/**
 * The CLI's credential store as the server's key store: reads where a key may be, writes where
 * new secrets go. When that store cannot be used (no keychain, no vault passphrase), the hint
 * also names CONNECTR_ENCRYPTION_KEY: with it the server needs no stored key at all.
 */
export function cliKeySecrets(ctx: CliContext): KeySecrets {
  const { vault } = cliAuth(ctx).deps;
  let location = 'credential store';
  return {
    get location() {
      return location;
    },
    get: (service, account) => orOwnKey(() => readKey(service, account)),
    set: (service, account, secret) => orOwnKey(() => writeKey(service, account, secret)),
  };

  async function readKey(service: string, account: string): Promise<string | null> {
    if (vault.preference() !== 'file' && (await vault.keychainAvailable()).available) {
      const found = await vault.keychain.get(service, account);
      if (found !== null) {
        location = vault.keychain.location;
        return found;
      }
    }
    // Asks for no passphrase unless the entry is there.
    const found = await vault.encrypted.get(service, account);
    if (found !== null) location = vault.encrypted.location;
    return found;
  }

  async function writeKey(service: string, account: string, secret: string): Promise<void> {
    const { store, notice } = await vault.forNewSecrets(false);
    if (notice) ctx.out.warn(notice);
    await store.set(service, account, secret);
    location = store.location;
  }
}

async function orOwnKey<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof ConnectrError) || error.code === 'internal') throw error;
    throw new ConnectrError(error.code, error.message, {
      hint: `set CONNECTR_ENCRYPTION_KEY (${MAKE_KEY_HINT}) so that the server needs no stored key${error.hint ? `; or ${error.hint}` : ''}`,
      details: error.details,
      cause: error,
    });
  }
}
