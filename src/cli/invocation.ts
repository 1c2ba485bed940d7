import { accessSync, constants, realpathSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { shellWord } from '../core/shell.js';
import type { Env } from '../core/paths.js';

/**
 * How to run connectr again from a shell, the way the user ran it: what `--curl` puts in its
 * `$(… token …)`. Decided from the running script (process.argv[1]) and the environment:
 *
 * - run by npx / npm exec, or found in a node_modules/.bin on PATH (an npm script): `npx connectr`;
 * - the `connectr` that PATH finds is this very script: `connectr`;
 * - otherwise the absolute path of the script (bin/connectr.cjs), after node's own path when the
 *   script is not executable.
 */
export function invocationOf(script: string | undefined, env: Env, execPath: string): string {
  if (!script) return 'connectr';
  if (env.npm_command === 'exec') return 'npx connectr';
  const self = realOrSame(resolve(script));
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'connectr');
    if (!executable(candidate)) continue;
    if (realOrSame(candidate) !== self) break;
    return basename(dir) === '.bin' && basename(resolve(dir, '..')) === 'node_modules'
      ? 'npx connectr'
      : 'connectr';
  }
  const path = resolve(script);
  return executable(path) ? shellWord(path) : `${shellWord(execPath)} ${shellWord(path)}`;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
