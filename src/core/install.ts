import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where connectr is installed, found once from this file's own location. It sits two levels
 * below the package root in src/core, in dist/core and in the start-up bundle (dist/bundle/,
 * built by scripts/bundle.mjs), so `../../` names the package root in all three; every other
 * module asks here instead of resolving `import.meta.url` itself, which a bundle would move.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}

/** Changes whenever connectr is rebuilt or upgraded: the file holding this code is rewritten then. */
export const BUILD_ID: string = (() => {
  try {
    return String(statSync(fileURLToPath(import.meta.url)).mtimeMs);
  } catch {
    return 'unknown';
  }
})();
