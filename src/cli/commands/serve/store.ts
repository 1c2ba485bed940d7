import type { KeySecrets, OpenedServerStore } from '../../../server/store/open.js';
import { cliAuth } from '../../auth-deps.js';
import type { CliContext } from '../../context.js';

/**
 * The server's store opened from a command: `connectr serve` itself and `serve rotate-key`.
 * A PGlite server's generated encryption key lives in the CLI's own credential store: the
 * keychain, else the encrypted file, as CONNECTR_STORE and the Vault decide for any secret.
 */
export async function openStoreFor(ctx: CliContext): Promise<OpenedServerStore> {
  const { openServerStore } = await import('../../../server/store/open.js');
  return openServerStore({
    env: ctx.env,
    dataDir: ctx.paths.dataDir,
    secrets: cliKeySecrets(ctx),
    notify: (message) => {
      ctx.out.info(message);
    },
  });
}

/** The CLI's credential store as the server's key store: reads where a key may be, writes where new secrets go. */
export function cliKeySecrets(ctx: CliContext): KeySecrets {
  const { vault } = cliAuth(ctx).deps;
  let location = 'credential store';
  return {
    get location() {
      return location;
    },
    async get(service, account) {
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
    },
    async set(service, account, secret) {
      const { store, notice } = await vault.forNewSecrets(false);
      if (notice) ctx.out.warn(notice);
      await store.set(service, account, secret);
      location = store.location;
    },
  };
}
