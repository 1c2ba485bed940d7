import type { Env } from '../../core/paths.js';
import type { ApiKeyIdentity } from '../contracts.js';
import type { CallTarget } from '../credentials/target.js';
import { wholeNumberSetting } from '../settings.js';
import { TtlCache } from './ttl-cache.js';

/** How long an instance trusts what it read about an API key or a connection (docs/server.md, "Several instances"). */
export const CACHE_VARIABLE = 'CONNECTR_CACHE_MS';
export const DEFAULT_CACHE_MS = 2000;
const MAX_ENTRIES = 5000;

/** What one server instance keeps of the database between requests. */
export interface ServerCaches {
  /** API keys found valid, by the SHA-256 of the key (the key itself is not kept). */
  readonly apiKeys: TtlCache<ApiKeyIdentity>;
  /** Connections with their credential, by project and id. */
  readonly connections: TtlCache<CallTarget>;
}

export function serverCaches(env: Env, now?: () => number): ServerCaches {
  const ttlMs = wholeNumberSetting(env, CACHE_VARIABLE, DEFAULT_CACHE_MS, 0);
  const options = { ttlMs, maxEntries: MAX_ENTRIES, ...(now ? { now } : {}) };
  return { apiKeys: new TtlCache(options), connections: new TtlCache(options) };
}
