import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where connectr keeps its files. CONNECTR_HOME puts everything in one folder (tests, portable
 * installs); otherwise the XDG base directories, as the GitHub CLI and rclone do on Linux.
 */
export interface ConnectrPaths {
  /** User configuration: connectors/, apps. */
  readonly configDir: string;
  /** User data: account metadata, encrypted vault, locks. */
  readonly dataDir: string;
  /** User connector definitions. */
  readonly userConnectorsDir: string;
  /** Things connectr can rebuild (validated connectors). */
  readonly cacheDir: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** What the paths depend on: the parsed settings (core/settings) or, in tests, an environment. */
export type PathSettings = Readonly<
  Partial<
    Record<
      'CONNECTR_HOME' | 'HOME' | 'XDG_CONFIG_HOME' | 'XDG_DATA_HOME' | 'XDG_CACHE_HOME',
      string | undefined
    >
  >
>;

export function resolvePaths(env: PathSettings): ConnectrPaths {
  const home = env.CONNECTR_HOME;
  if (home) {
    return {
      configDir: home,
      dataDir: home,
      userConnectorsDir: join(home, 'connectors'),
      cacheDir: join(home, 'cache'),
    };
  }
  const userHome = env.HOME || homedir();
  const configDir = join(env.XDG_CONFIG_HOME || join(userHome, '.config'), 'connectr');
  const dataDir = join(env.XDG_DATA_HOME || join(userHome, '.local', 'share'), 'connectr');
  const cacheDir = join(env.XDG_CACHE_HOME || join(userHome, '.cache'), 'connectr');
  return { configDir, dataDir, userConnectorsDir: join(configDir, 'connectors'), cacheDir };
}
