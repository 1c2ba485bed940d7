import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/**
 * Runs a CommonJS file (the CLI's start-up bundle) with a V8 code cache: the bytecode V8
 * compiled on an earlier run, so a command does not parse and compile the same code again
 * (Node 20 has no `module.enableCompileCache`). The cache is something connectr can always do
 * without: a missing, unreadable, stale or damaged cache file only means compiling as usual,
 * and a cache directory that cannot be written (read-only, full, not a directory) is skipped
 * without a word.
 *
 * One cache file per `tag` (the command word), holding what that command compiled once it had
 * run; its name carries a hash of the file's content and Node's version and architecture, so an
 * upgrade or a rebuild never meets the bytecode of another build (V8 itself compares only the
 * source's length, besides its own version and flags). A missing or rejected cache is written
 * anew when the process exits. Where the user has none yet (an empty home: CI, a container,
 * the first run after an upgrade), the caches `npm run build` made (`shipped`) are used, when
 * they were made by the same Node.
 */

export interface CodeCacheOptions {
  /** Where cache files go (`<cache dir>/v8`); undefined runs without a cache. */
  readonly dir: string | undefined;
  /** Caches made at build time, read-only, used when `dir` has none. */
  readonly shipped?: string | undefined;
  /** Which cache file: letters, digits and dashes (anything else is replaced). */
  readonly tag: string;
}

/** Larger than any cache connectr writes by far; a bigger file is not read. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;

/** Cache files kept in the directory at most. */
const MAX_FILES = 16;

export function runCommonJs(file: string, options: CodeCacheOptions): unknown {
  const bytes = readFileSync(file);
  const name = cacheName(contentHash(file, bytes), options.tag);
  const cachePath = options.dir ? join(options.dir, name) : undefined;
  const own = cachePath ? readCache(cachePath) : undefined;
  const cached = own ?? (options.shipped ? readCache(join(options.shipped, name)) : undefined);
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${bytes.toString('utf8')}\n})`,
    {
      filename: file,
      ...(cached ? { cachedData: cached } : {}),
    },
  );
  const accepted = cached !== undefined && script.cachedDataRejected !== true;
  // A shipped cache that V8 accepts is as good as the user's own: nothing to write.
  if (cachePath && !accepted) {
    // After the command ran, the cache also holds the functions it compiled on the way.
    process.once('exit', () => {
      writeCache(cachePath, options.tag, () => script.createCachedData());
    });
  }
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} as unknown };
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

function safeTag(tag: string): string {
  return tag.replace(/[^A-Za-z0-9-]/g, '_').slice(0, 32) || 'none';
}

/** `<tag>.<node version>-<arch>-<content hash>.bin`: the same name at build time and at run time. */
function cacheName(hash: string, tag: string): string {
  return `${safeTag(tag)}.${process.version}-${process.arch}-${hash}.bin`;
}

/** The hash's name beside the file it describes. */
export const hashFileOf = (file: string): string => `${file}.sha256`;

/** The first 16 hex digits of the SHA-256 of `bytes`, and their length, as `<hash>-<length>`. */
export function hashContent(bytes: Buffer): string {
  return `${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}-${bytes.length}`;
}

/**
 * The build writes the file's hash beside it (scripts/bundle.mjs), which saves hashing 600 KB
 * and loading node:crypto at every start; it is taken only for a file of the length it
 * names (V8 rejects a cache for a source of another length, never one of the same), and
 * computed here when missing or unlike the file.
 */
function contentHash(file: string, bytes: Buffer): string {
  try {
    const written = readFileSync(hashFileOf(file), 'utf8').trim();
    if (/^[0-9a-f]{16}-\d+$/.test(written) && written.endsWith(`-${bytes.length}`)) return written;
  } catch {
    // No hash beside the file: computed below.
  }
  return hashContent(bytes);
}

/**
 * V8 trusts a cache it accepts as code: one that someone else could have written (owned by
 * another user than this one or root, writable by group or others) is not read, only replaced.
 */
function readCache(path: string): Buffer | undefined {
  try {
    const info = statSync(path);
    if (info.size > MAX_CACHE_BYTES || (info.mode & 0o022) !== 0) return undefined;
    if (process.getuid && info.uid !== process.getuid() && info.uid !== 0) return undefined;
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Written to a fresh temporary file and renamed, so a reader never sees half a cache. */
function writeCache(path: string, tag: string, data: () => Buffer): void {
  const dir = dirname(path);
  const temp = join(dir, `.${safeTag(tag)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    fd = openSync(temp, 'wx', 0o600);
    const bytes = data();
    writeSync(fd, bytes, 0, bytes.length);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
    removeOthers(dir, tag, path);
  } catch {
    try {
      if (fd !== undefined) closeSync(fd);
      unlinkSync(temp);
    } catch {
      // Nothing was created.
    }
  }
}

/**
 * Caches of the same tag for other builds or Node versions are dead weight; so are the oldest
 * beyond MAX_FILES (one per word a user ever typed as a command).
 */
function removeOthers(dir: string, tag: string, keep: string): void {
  const prefix = `${safeTag(tag)}.`;
  const others: { path: string; mtimeMs: number }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!name.endsWith('.bin') || path === keep) continue;
    try {
      if (name.startsWith(prefix)) unlinkSync(path);
      else others.push({ path, mtimeMs: statSync(path).mtimeMs });
    } catch {
      // Another process may have removed it first.
    }
  }
  others.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { path } of others.slice(MAX_FILES - 1)) {
    try {
      unlinkSync(path);
    } catch {
      // As above.
    }
  }
}
