import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT, packagePath } from '../../core/install.js';

/**
 * The pages' static files (one style sheet, a few small scripts): served by the daemon itself,
 * never from a CDN, so the pages' Content-Security-Policy can say 'self' and nothing more.
 * Read once, at the first page, from beside this module's source or where the build copied them
 * (dist/server/web/assets); a request's path is looked up among them and never reaches the file
 * system.
 */

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** Quoted, for ETag and If-None-Match. */
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function assetsFolder(): string {
  const here = relative(PACKAGE_ROOT, fileURLToPath(import.meta.url));
  const built = packagePath('dist', 'server', 'web', 'assets');
  const source = packagePath('src', 'server', 'web', 'assets');
  if (here.startsWith('dist') && existsSync(built)) return built;
  return existsSync(source) ? source : built;
}

let loaded: ReadonlyMap<string, Asset> | undefined;

export function assets(): ReadonlyMap<string, Asset> {
  if (loaded) return loaded;
  const folder = assetsFolder();
  const map = new Map<string, Asset>();
  for (const name of readdirSync(folder)) {
    const extension = name.slice(name.lastIndexOf('.'));
    const type = TYPES[extension];
    if (type === undefined) continue;
    const body = readFileSync(join(folder, name));
    map.set(name, {
      body,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
  loaded = map;
  return map;
}
