import { chmod, lstat, mkdir, readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import type { NodeFS } from '@electric-sql/pglite/nodefs';
import { ConnectrError, messageOf } from '../../core/errors.js';

/**
 * The embedded database's files are its owner's alone: they hold every project's encrypted
 * tokens and API key hashes, and write access to them is write access to the server.
 *
 * PGlite gives no such guarantee: it unpacks its initial data folder with chmod 0666 (umask or
 * not) and makes folders by the umask. So every file and folder it creates goes through a
 * mode filter (privatePgliteFs), and a folder found on start (a restored backup, a deploy step,
 * an older connectr) is tightened, or refused when another user owns part of it, since that
 * user could loosen it again at any time. Not a process-wide umask: this code also runs inside
 * other commands (rotate-key) and tests, and a umask would not stop PGlite's own chmod anyway.
 */

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/** A folder 0700; anything else keeps only its owner's bits (0666 -> 0600, 0777 -> 0700). */
export function privateMode(mode: number): number {
  return (mode & S_IFMT) === S_IFDIR ? (mode & ~0o7777) | 0o700 : mode & ~0o7077;
}

/**
 * Makes `root` (created if missing) and everything under it private to this process's user:
 * folders 0700, files without group or other bits. Symbolic links are neither followed nor
 * changed (PGlite makes none); `root` itself may be one, a deploy's choice of volume.
 * Throws ConnectrError('unavailable') naming the first entry another user owns.
 */
export async function makePrivateTree(root: string): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const uid = process.getuid?.();
  // Top-down: a folder is tightened before it is read, so once its entries are listed nobody
  // else can swap one (for a symbolic link to a file elsewhere) between lstat and chmod.
  const visit = async (path: string, info: Stats): Promise<void> => {
    if (info.isSymbolicLink()) return;
    if (uid !== undefined && info.uid !== uid) throw foreignOwner(root, path, info.uid, uid);
    const wanted = privateMode(info.mode);
    if (wanted !== info.mode) await chmod(path, wanted & 0o7777);
    if (!info.isDirectory()) return;
    const children = await Promise.all(
      (await readdir(path)).map(async (name) => {
        const child = join(path, name);
        try {
          return { child, info: await lstat(child) };
        } catch (error) {
          // Removed meanwhile (a server still closing): nothing left to protect.
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw error;
        }
      }),
    );
    await Promise.all(children.flatMap((c) => (c ? [visit(c.child, c.info)] : [])));
  };
  try {
    await visit(root, await stat(root));
  } catch (error) {
    if (error instanceof ConnectrError) throw error;
    throw new ConnectrError(
      'unavailable',
      `cannot make the database folder ${root} private: ${messageOf(error)}`,
      {
        hint: `check that ${root} and everything in it belong to the user running connectr`,
        cause: error,
      },
    );
  }
}

function foreignOwner(root: string, path: string, owner: number, uid: number): ConnectrError {
  return new ConnectrError(
    'unavailable',
    `refusing to use the database folder ${root}: ${path} belongs to another user (uid ${String(owner)}, connectr runs as uid ${String(uid)}), who could read or change the server's data`,
    {
      hint: `if that folder is yours (a restored backup), give it to this user: chown -R ${String(uid)} ${root}; else move it away and start again`,
    },
  );
}

/** PGlite's Emscripten module, as a preRun step receives it. */
type EmscriptenOpts = Awaited<ReturnType<NodeFS['init']>>['emscriptenOpts'];
type PostgresMod = Parameters<NonNullable<EmscriptenOpts['preRun']>[number]>[0];

/** The parts of Emscripten's NODEFS that create files and change their modes. */
interface NodeFsOps {
  node_ops: {
    mknod: (parent: unknown, name: string, mode: number, dev: number) => unknown;
    setattr: (node: unknown, attr: { mode?: number | null }) => void;
  };
  stream_ops: { setattr: (stream: unknown, attr: { mode?: number | null }) => void };
}

function isNodeFsOps(value: unknown): value is NodeFsOps {
  const v = value as Partial<NodeFsOps> | undefined;
  return (
    typeof v?.node_ops?.mknod === 'function' &&
    typeof v.node_ops.setattr === 'function' &&
    typeof v.stream_ops?.setattr === 'function'
  );
}

/** Passes a mode change on with group and other bits removed. */
function privateAttr<A extends { mode?: number | null }>(attr: A): A {
  return attr.mode == null ? attr : { ...attr, mode: privateMode(attr.mode) };
}

/**
 * PGlite's Node file system with every mode it sets filtered through privateMode: at creation
 * (mknod) and at chmod, in this PGlite instance only (each has its own Emscripten NODEFS).
 * Should a PGlite release rename these internals, makePrivateTree on the next start is what
 * remains, and test/server/pglite-files.test.ts fails.
 */
export async function privatePgliteFs(dir: string): Promise<NodeFS> {
  // PGlite's constructor makes a missing folder by the umask: make it first, private. (What is
  // already in it is the caller's: openPglite has walked the whole server folder.)
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const { NodeFS } = await import('@electric-sql/pglite/nodefs');
  class PrivateNodeFS extends NodeFS {
    override async init(...args: Parameters<NodeFS['init']>): ReturnType<NodeFS['init']> {
      const opened = await super.init(...args);
      const { emscriptenOpts } = opened;
      const privateModes = (mod: PostgresMod): void => {
        const nodefs: unknown = mod.NODEFS;
        if (!isNodeFsOps(nodefs)) return;
        const { node_ops: nodeOps, stream_ops: streamOps } = nodefs;
        const mknod = nodeOps.mknod.bind(nodeOps);
        const setattr = nodeOps.setattr.bind(nodeOps);
        const streamSetattr = streamOps.setattr.bind(streamOps);
        nodeOps.mknod = (parent, name, mode, dev) => mknod(parent, name, privateMode(mode), dev);
        nodeOps.setattr = (node, attr) => {
          setattr(node, privateAttr(attr));
        };
        streamOps.setattr = (stream, attr) => {
          streamSetattr(stream, privateAttr(attr));
        };
      };
      return {
        emscriptenOpts: { ...emscriptenOpts, preRun: [...(emscriptenOpts.preRun ?? []), privateModes] },
      };
    }
  }
  return new PrivateNodeFS(dir);
}
