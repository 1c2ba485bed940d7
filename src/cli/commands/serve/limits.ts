import type { Env } from '../../../core/paths.js';
import type { ConnectionLimits } from '../../../server/connection-limits.js';
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
} from '../../../server/connection-limits.js';
import { wholeNumberSetting } from '../../../server/settings.js';

/**
 * The connection caps of `connectr serve`: the flag, else its environment variable (so a
 * container or a unit file sets them without changing the command), else the default.
 */
export function connectionLimits(
  flags: { readonly maxConnections?: number; readonly maxConnectionsPerAddress?: number },
  env: Env,
): ConnectionLimits {
  return {
    max: flags.maxConnections ?? wholeNumberSetting(env, 'CONNECTR_MAX_CONNECTIONS', DEFAULT_MAX_CONNECTIONS),
    perAddress:
      flags.maxConnectionsPerAddress ??
      wholeNumberSetting(env, 'CONNECTR_MAX_CONNECTIONS_PER_ADDRESS', DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, 0),
  };
}
