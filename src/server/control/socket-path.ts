import { join } from 'node:path';

/**
 * Where a PGlite daemon's control socket lives: beside its database, in `<data dir>/server`
 * (created 0700), so only the user who runs it can reach it, and every command run with the
 * same CONNECTR_HOME / XDG_DATA_HOME finds the same one.
 */

/**
 * The longest socket path the system takes: sun_path holds 108 bytes on Linux, 104 on macOS
 * and the BSDs, with the terminating NUL.
 */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

export type ControlSocket =
  | { readonly usable: true; readonly path: string }
  | { readonly usable: false; readonly path: string; readonly why: string };

export function controlSocket(dataDir: string): ControlSocket {
  const path = join(dataDir, 'server', 'control.sock');
  if (process.platform === 'win32') {
    return { usable: false, path, why: 'this system has no Unix domain sockets for it' };
  }
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    return {
      usable: false,
      path,
      why: `its socket path would be ${bytes} bytes long, more than the ${MAX_SOCKET_PATH_BYTES} this system allows (${path})`,
    };
  }
  return { usable: true, path };
}

/** What to do when the socket cannot be: said by the daemon at start and by the key commands. */
export const SHORTER_PATH_HINT =
  'use a data directory with a shorter path (CONNECTR_HOME or XDG_DATA_HOME), or stop the server while you manage keys';
