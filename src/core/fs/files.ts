import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { chmod, lstat, open, readlink, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { ConnectrError } from '../errors.js';

/**
 * Files that hold account data: directories 0700, files 0600, replaced atomically (write a
 * temporary file next to the target, fsync, rename) so a crash or a concurrent reader never
 * sees half a file and nothing is lost on failure.
 */

export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw await notAFolder(join(dir, '.'), error);
  }
  // mkdir's mode is masked by the umask and ignored for existing directories.
  chmodSync(dir, 0o700);
}

/**
 * Written with the synchronous calls, as readIfExists reads: these are small files written
 * once per command, and the promise API and node:crypto cost a command on an empty home more
 * than the writes take. The temporary name need not be unpredictable: it is made in a folder
 * of the user's own that nobody else may write in (0700, made so above), and exclusively, so a
 * name already taken (a temporary file a killed run left) is only skipped. A cache, which a
 * crash may lose (it is rebuilt), is written with `durable: false`: without waiting for the disk
 * (an fsync took milliseconds of an empty home's first command).
 */
export async function writePrivateFile(
  path: string,
  data: string,
  { durable = true }: { readonly durable?: boolean } = {},
): Promise<void> {
  await ensurePrivateDir(dirname(path));
  const temp = openTemporary(path);
  try {
    try {
      writeFileSync(temp.fd, data, 'utf8');
      if (durable) fsyncSync(temp.fd);
    } finally {
      closeSync(temp.fd);
    }
    renameSync(temp.path, path);
  } catch (error) {
    rmSync(temp.path, { force: true });
    throw error;
  }
}

let temporaries = 0;

/** A new file beside `path`, created 0600 and exclusively, open for writing. */
function openTemporary(path: string): { readonly path: string; readonly fd: number } {
  for (let attempt = 0; ; attempt++) {
    const temp = join(
      dirname(path),
      `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.${temporaries++}.tmp`,
    );
    try {
      return { path: temp, fd: openSync(temp, 'wx', 0o600) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) throw error;
    }
  }
}

/**
 * The file's text, or undefined when it does not exist. Read with the synchronous calls: these
 * are small files read once per command, and loading the promise API costs a command more than
 * the reads take. Only a regular file is read: a FIFO in its place would block the process
 * (even Ctrl-C: its handler runs on the blocked thread).
 */
export async function readIfExists(path: string): Promise<string | undefined> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw await notAFolder(path, error);
  }
  try {
    if (!fstatSync(fd).isFile()) {
      throw new ConnectrError(
        'invalid_input',
        `${path} is not a regular file, but connectr keeps its data in it`,
        {
          hint: 'move it away; connectr makes the file anew',
        },
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Where a download goes. Something that is not a regular file (a device such as /dev/null, a
 * FIFO, a socket) is written through: replacing it with a file would break it. A symlink is
 * followed and the rules applied to what it points at, so the link stays a link. Only a regular
 * file or a new path gets a temporary file next to it, renamed over it when complete.
 */
export type OutputTarget =
  | { readonly kind: 'through'; readonly path: string }
  | { readonly kind: 'replace'; readonly path: string; readonly mode: number | undefined };

/** Links followed before giving up (Linux's own limit is 40). */
const MAX_LINKS = 40;

export async function outputTarget(path: string): Promise<OutputTarget> {
  let current = resolve(path);
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    const info = await lstat(current).catch((error: unknown) => {
      if (errnoOf(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (info === undefined) return { kind: 'replace', path: current, mode: undefined };
    if (info.isSymbolicLink()) {
      current = resolve(dirname(current), await readlink(current));
      continue;
    }
    if (info.isFile()) return { kind: 'replace', path: current, mode: info.mode & 0o7777 };
    return { kind: 'through', path: current };
  }
  throw Object.assign(new Error(`too many levels of symbolic links: ${path}`), { code: 'ELOOP' });
}

/** A file being written: `commit` puts it in place, `discard` removes what was written. */
export interface OutputFile {
  readonly stream: Writable;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * Opens `target` for writing. A regular file or new path is written to a temporary file in the
 * same folder, created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW, random name) so no other process
 * and no planted symlink shares it; it is registered for removal if the process ends first.
 */
export async function openOutput(target: OutputTarget): Promise<OutputFile> {
  if (target.kind === 'through') {
    const handle = await open(target.path, constants.O_WRONLY | constants.O_NOCTTY);
    const stream = handle.createWriteStream();
    return {
      stream,
      commit: () => Promise.resolve(),
      discard: async () => {
        if (!stream.closed) await handle.close().catch(() => undefined);
      },
    };
  }
  const temp = join(
    dirname(target.path),
    `.${basename(target.path)}.${randomBytes(8).toString('hex')}.connectr-partial`,
  );
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const handle = await open(temp, flags, target.mode ?? 0o666);
  pendingTemps.add(temp);
  const stream = handle.createWriteStream();
  const remove = async (): Promise<void> => {
    if (!stream.closed) await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    pendingTemps.delete(temp);
  };
  return {
    stream,
    async commit() {
      try {
        // open()'s mode is masked by the umask; an existing file keeps its own mode.
        if (target.mode !== undefined) await chmod(temp, target.mode);
        await rename(temp, target.path);
        pendingTemps.delete(temp);
      } catch (error) {
        await remove();
        throw error;
      }
    },
    discard: remove,
  };
}

const pendingTemps = new Set<string>();

/**
 * Removes the temporary files of writes still under way. For a front-end's exit path (a signal
 * that ends the process before the write's own clean-up ran): synchronous, never throws.
 */
export function removePendingTempFiles(): void {
  for (const temp of pendingTemps) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // Nothing more can be done while exiting.
    }
  }
  pendingTemps.clear();
}

/** The errno code of a file-system error (ENOENT, EACCES, ...), if it has one. */
export function errnoOf(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

/**
 * After ENOTDIR or EEXIST: the error that names the file standing where connectr expects a
 * folder (CONNECTR_HOME or an XDG directory pointing at a file); else `error` unchanged.
 */
async function notAFolder(path: string, error: unknown): Promise<unknown> {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'ENOTDIR' && code !== 'EEXIST') return error;
  for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (info && !info.isDirectory()) {
      return new ConnectrError(
        'invalid_input',
        `${dir} is not a folder, but connectr keeps its files in it`,
        {
          hint: 'point CONNECTR_HOME (or XDG_DATA_HOME / XDG_CONFIG_HOME) at a folder, or move that file away',
        },
      );
    }
  }
  return error;
}
