import type { Vault } from '../../core/credentials/vault.js';
import type { Env } from '../../core/paths.js';
import type { ServerStore } from '../contracts.js';

/**
 * STAND-IN, replaced by the store branch (i9-store), which opens PostgreSQL (DATABASE_URL) or
 * PGlite in `dataDir`, applies migrations and keeps the encryption key in `secrets`. Here it
 * opens nothing: no key verifies, readiness always answers, so `connectr serve` and its tests
 * run before the store lands.
 */

export interface OpenServerStoreOptions {
  readonly env: Env;
  readonly dataDir: string;
  readonly secrets: Vault;
}

export function openServerStore(_options: OpenServerStoreOptions): Promise<ServerStore> {
  return Promise.resolve({
    backend: 'pglite',
    apiKeys: { verify: () => Promise.resolve(undefined) },
    readiness: { ready: () => Promise.resolve() },
    close: () => Promise.resolve(),
  });
}
