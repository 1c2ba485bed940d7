import type { AuthDeps } from '../../src/core/auth/deps.js';
import { systemClock } from '../../src/core/clock.js';
import { MetadataStore } from '../../src/core/credentials/metadata.js';
import { Vault } from '../../src/core/credentials/vault.js';
import { resolvePaths } from '../../src/core/paths.js';
import { coreSettings } from '../../src/core/settings/core.js';

/** The auth layer in-process for the home `env` names, as the CLI wires it, without a terminal. */
export function testAuthDeps(env: Record<string, string>): AuthDeps {
  const settings = coreSettings(env);
  const paths = resolvePaths(settings);
  return {
    env,
    settings,
    paths,
    clock: systemClock,
    http: { env },
    vault: new Vault({ settings, paths, passphrase: () => Promise.reject(new Error('not used')) }),
    metadata: new MetadataStore(paths),
    notify: () => undefined,
  };
}
