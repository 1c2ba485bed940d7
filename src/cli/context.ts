import { localRegistryOptions } from '../core/connector/local-dirs.js';
import { formatProblem } from '../core/connector/problem.js';
import type { Registry } from '../core/connector/registry.js';
import type { ConnectrPaths, Env } from '../core/paths.js';
import { resolvePaths } from '../core/paths.js';
import type { GlobalOptions } from './globals.js';
import { coreSettings } from '../core/settings/core.js';
import type { CoreSettings } from '../core/settings/core.js';
import type { IO } from './io.js';
import type { Output } from './output.js';
import { createOutput } from './output.js';

export type { GlobalOptions };

/**
 * What a command's run function gets: streams, environment, file locations and the connector
 * registry, all injected so tests can run commands in-process against temporary homes.
 */
export interface CliContext {
  readonly io: IO;
  readonly env: Env;
  /** The variables of fixed names, parsed once when the command starts (core/settings). */
  readonly settings: CoreSettings;
  readonly paths: ConnectrPaths;
  readonly out: Output;
  /** Extra connector directories: CONNECTR_CONNECTORS_DIR's, then --connectors-dir (core/connector/local-dirs.ts). */
  readonly connectorDirs: readonly string[];
  /** Aborted when the user interrupts (Ctrl-C); long operations must stop and clean up. */
  readonly signal: AbortSignal;
  /** How to run connectr again from a shell, the way the user ran it (for `--curl`). */
  invocation(): string;
  registry(): Promise<Registry>;
}

export function createContext(
  io: IO,
  env: Env,
  globals: GlobalOptions,
  signal: AbortSignal,
  invocation: () => string = () => 'connectr',
  settings: CoreSettings = coreSettings(env),
): CliContext {
  const paths = resolvePaths(settings);
  const registryOptions = localRegistryOptions(paths, env, globals.connectorsDir);
  const effectiveIO = globals.color === false ? { ...io, color: false } : io;
  const out = createOutput(effectiveIO, globals.json === true);
  let registry: Promise<Registry> | undefined;
  return {
    io: effectiveIO,
    env,
    settings,
    paths,
    out,
    connectorDirs: registryOptions.extraDirs,
    signal,
    invocation,
    registry() {
      registry ??= (async () => {
        const { loadRegistry } = await import('../core/connector/registry.js');
        const loaded = await loadRegistry(registryOptions);
        warnInvalid(out, loaded);
        return loaded;
      })();
      return registry;
    },
  };
}

/** A broken connector file is skipped, never fatal; say so once, with its first problem. */
function warnInvalid(out: Output, registry: Registry): void {
  for (const file of registry.invalid) {
    const first = file.problems[0];
    const more = file.problems.length > 1 ? ` (+${file.problems.length - 1} more)` : '';
    out.warn(
      `skipped invalid connector file ${first ? formatProblem(first) : file.file}${more}; run \`connectr connectors validate ${file.file}\``,
    );
  }
}
