import { delimiter, join } from 'node:path';
import type { ConnectrPaths, Env } from '../paths.js';
import type { RegistryOptions } from './registry.js';

/**
 * Where a program on this machine (the CLI, connectr/local) finds connectors besides the
 * built-in ones: the user's folder, then each folder of CONNECTR_CONNECTORS_DIR (read here
 * only), then those its caller names (`--connectors-dir`, `connectorDirs`). Type imports only:
 * the CLI works this out before it loads the registry.
 */
export interface LocalRegistryOptions extends RegistryOptions {
  readonly extraDirs: readonly string[];
}

export function localRegistryOptions(
  paths: ConnectrPaths,
  env: Env,
  given: readonly string[] = [],
): LocalRegistryOptions {
  const fromEnv = (env.CONNECTR_CONNECTORS_DIR ?? '').split(delimiter).filter(Boolean);
  return {
    userDir: paths.userConnectorsDir,
    extraDirs: [...fromEnv, ...given],
    cacheFile: join(paths.cacheDir, 'connectors.json'),
  };
}
