import type { AuthDeps } from '../core/auth/deps.js';
import { systemClock } from '../core/clock.js';
import type { PassphraseSource } from '../core/credentials/encrypted-file.js';
import { MetadataStore } from '../core/credentials/metadata.js';
import { Vault } from '../core/credentials/vault.js';
import { ConnectrError } from '../core/errors.js';
import type { Env } from '../core/paths.js';
import { resolvePaths } from '../core/paths.js';
import { coreSettings } from '../core/settings/core.js';
import type { CoreSettings } from '../core/settings/core.js';

/**
 * The CLI's accounts, wired for a program instead of a terminal: the same home, keychain,
 * encrypted file and metadata as `connectr call`, but nothing is ever asked. The encrypted
 * file's passphrase comes from the caller or CONNECTR_VAULT_PASSPHRASE.
 */
export function programAuth(
  env: Env,
  passphrase: string | undefined,
  notify: (message: string) => void,
  signal: AbortSignal | undefined,
  settings: CoreSettings = coreSettings(env),
): AuthDeps {
  const paths = resolvePaths(settings);
  return {
    env,
    settings,
    paths,
    clock: systemClock,
    http: { env, ...(signal ? { signal } : {}) },
    vault: new Vault({ settings, paths, passphrase: passphraseOf(settings, passphrase) }),
    metadata: new MetadataStore(paths),
    notify,
  };
}

function passphraseOf(settings: CoreSettings, given: string | undefined): PassphraseSource {
  return (purpose) => {
    const passphrase = given || settings.CONNECTR_VAULT_PASSPHRASE;
    if (passphrase) return Promise.resolve(passphrase);
    // A program never creates a vault (it never signs in), so only opening one can get here.
    return Promise.reject(
      new ConnectrError(
        'auth_required',
        `connectr's encrypted file store needs its passphrase to ${purpose === 'create' ? 'be created' : 'be opened'}`,
        {
          hint: 'set CONNECTR_VAULT_PASSPHRASE for this program (or pass the passphrase option), or make a keychain available (`connectr vault status`)',
        },
      ),
    );
  };
}
