import type { ApiKeyIdentity } from '../contracts.js';
import type { CallTarget } from '../credentials/target.js';
import { CacheNotices } from './invalidate.js';
import { UsageMarks } from './usage-marks.js';
import { TtlCache } from './ttl-cache.js';

export { DEFAULT_CACHE_MS } from '../settings.js';
const MAX_ENTRIES = 5000;

/** What one server instance keeps of the database between requests. */
export interface ServerCaches {
  /** API keys found valid, by the SHA-256 of the key (the key itself is not kept). */
  readonly apiKeys: TtlCache<ApiKeyIdentity>;
  /** Connections with their credential, by project and id. */
  readonly connections: TtlCache<CallTarget>;
  /** When this instance last wrote each connection's last_used_at (health/usage.ts). */
  readonly usage: UsageMarks;
  /** This instance's changes forgotten here and told to the other instances, theirs received (invalidate.ts). */
  readonly notices: CacheNotices;
}

/** `ttlMs`: how long an instance trusts what it read about an API key or a connection (CONNECTR_CACHE_MS). */
export function serverCaches(ttlMs: number, now?: () => number): ServerCaches {
  const options = { ttlMs, maxEntries: MAX_ENTRIES, ...(now ? { now } : {}) };
  const kept = {
    apiKeys: new TtlCache<ApiKeyIdentity>(options),
    connections: new TtlCache<CallTarget>(options),
  };
  return { ...kept, usage: new UsageMarks(), notices: new CacheNotices(kept) };
}
