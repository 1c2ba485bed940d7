import { readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConnectrError, messageOf } from '../../core/errors.js';

/**
 * One process at a time on a PGlite directory: PGlite is Postgres compiled into this process,
 * so a second process opening the same files would corrupt them. The lock is a file created
 * exclusively (O_EXCL) holding the owner's pid and host. A lock whose owner is gone (same host,
 * pid no longer running) is stale and taken over; the take-over itself runs under a second
 * exclusive file, so two processes finding the same stale lock cannot both win.
 */

interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** A take-over mutex older than this was left by a crash in its few-millisecond window. */
const TAKEOVER_STALE_MS = 10_000;

export interface InstanceLock {
  release(): void;
}

export function lockInstance(lockPath: string, what: string): InstanceLock {
  const mine: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(lockPath, text)) return handle(lockPath, text);
    const holder = readHolder(lockPath);
    if (holder === 'gone') continue;
    if (holder && isAlive(holder)) throw refused(lockPath, what, holder);
    if (holder && holder.host !== mine.host) throw refused(lockPath, what, holder);
    // Stale (its process is gone) or unreadable (a crash between create and write): take over.
    if (takeOver(lockPath, text)) return handle(lockPath, text);
  }
  throw new ConnectrError('unavailable', `could not take the lock on ${what} (${lockPath})`, {
    hint: 'another connectr process is starting on it; try again',
  });
}

function handle(lockPath: string, text: string): InstanceLock {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      // Remove it only while it is still ours.
      try {
        if (readFileSync(lockPath, 'utf8') === text) unlinkSync(lockPath);
      } catch {
        // Already gone.
      }
    },
  };
}

function tryCreate(path: string, text: string): boolean {
  try {
    writeFileSync(path, text, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new ConnectrError('unavailable', `cannot create the lock file ${path}: ${messageOf(error)}`, {
      hint: 'check that the data directory is writable',
    });
  }
}

/** The holder, undefined when the file is unreadable or not ours in shape, 'gone' when it vanished. */
function readHolder(path: string): Holder | undefined | 'gone' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (
      typeof value === 'object' &&
      value !== null &&
      'pid' in value &&
      'host' in value &&
      'since' in value &&
      Number.isInteger(value.pid) &&
      typeof value.host === 'string' &&
      typeof value.since === 'string'
    ) {
      return { pid: Number(value.pid), host: value.host, since: value.since };
    }
  } catch {
    // Fall through: a half-written file.
  }
  return undefined;
}

function isAlive(holder: Holder): boolean {
  if (holder.host !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function takeOver(lockPath: string, text: string): boolean {
  const mutex = `${lockPath}.takeover`;
  try {
    if (Date.now() - statSync(mutex).mtimeMs > TAKEOVER_STALE_MS) rmSync(mutex, { force: true });
  } catch {
    // No mutex: the usual case.
  }
  if (!tryCreate(mutex, text)) return false;
  try {
    // Under the mutex, look again: someone may have taken over between our read and now.
    const holder = readHolder(lockPath);
    if (holder !== 'gone' && holder && isAlive(holder)) return false;
    if (holder !== 'gone') {
      const aside = `${lockPath}.stale-${process.pid}`;
      renameSync(lockPath, aside);
      rmSync(aside, { force: true });
    }
    return tryCreate(lockPath, text);
  } finally {
    rmSync(mutex, { force: true });
  }
}

/** The database is held by another live process (a running server): commands may go to it instead. */
export class InstanceBusyError extends ConnectrError {
  constructor(
    message: string,
    hint: string,
    readonly pid: number,
  ) {
    super('unavailable', message, { hint });
  }
}

function refused(lockPath: string, what: string, holder: Holder): ConnectrError {
  const where =
    holder.host === hostname() ? `process ${holder.pid}` : `process ${holder.pid} on ${holder.host}`;
  return new InstanceBusyError(
    `${what} is already in use by another connectr process (${where}, since ${holder.since})`,
    `stop that server first, or set DATABASE_URL to share a PostgreSQL database between servers; if no such process exists, delete ${lockPath}`,
    holder.pid,
  );
}
