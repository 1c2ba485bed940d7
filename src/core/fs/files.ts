import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConnectrError } from '../errors.js';

/**
 * Files that hold account data: directories 0700, files 0600, replaced atomically (write a
 * temporary file next to the target, fsync, rename) so a crash or a concurrent reader never
 * sees half a file and nothing is lost on failure.
 */

export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw await notAFolder(join(dir, '.'), error);
  }
  // mkdir's mode is masked by the umask and ignored for existing directories.
  await chmod(dir, 0o700);
}

export async function writePrivateFile(path: string, data: string): Promise<void> {
  await ensurePrivateDir(dirname(path));
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The file's text, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw await notAFolder(path, error);
  }
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
