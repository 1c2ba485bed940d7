import type { Adapter, Low } from 'lowdb';
import type { z } from 'zod';
import { ConnectrError, messageOf } from '../errors.js';
import { readIfExists, writePrivateFile } from './files.js';
import { withLock } from './lock.js';

/**
 * connectr's JSON files (account metadata, the file vaults) are lowdb databases stored through
 * an adapter that writes atomically with mode 0600. Every change is a read-modify-write under a
 * cross-process lock, so concurrent commands never lose each other's updates.
 */

/**
 * What a file must look like to be read: its zod schema and, for messages, what it is. The
 * schema is built from zod when a file is first read: loading zod costs a `connectr call` with
 * a token from the environment ~90 ms it otherwise never needs (issue #8).
 */
export interface FileShape {
  readonly schema: (zod: typeof z) => z.ZodType;
  /** e.g. "connectr's account list", for "X is not <what>". */
  readonly what: string;
}

class PrivateJsonFile<T> implements Adapter<T> {
  private schema: z.ZodType | undefined;

  constructor(
    private readonly path: string,
    private readonly shape: FileShape,
  ) {}

  async read(): Promise<T | null> {
    const text = await readIfExists(this.path);
    if (text === undefined || text.trim() === '') return null;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new ConnectrError('invalid_input', `${this.path} is not valid JSON: ${messageOf(error)}`, {
        hint: 'restore it from a backup or move it away; connectr will start a new one',
      });
    }
    // A file of the wrong shape is refused, never rewritten: reading fails, so no update runs.
    if (!this.schema) {
      const { z: zod } = await import('zod');
      this.schema = this.shape.schema(zod);
    }
    const checked = this.schema.safeParse(data);
    if (!checked.success) {
      throw new ConnectrError('invalid_input', `${this.path} is not ${this.shape.what}`, {
        details: checked.error.issues.slice(0, 5).map((issue) => {
          const at = issue.path.map(String).join('.');
          return `${at === '' ? 'the file' : at}: ${issue.message}`;
        }),
        hint: 'restore it from a backup, or move it away (connectr then starts a new one); connectr does not change it',
      });
    }
    // The schema accepted it; the raw value is kept so fields a newer connectr added survive a write.
    return data as T;
  }

  async write(data: T): Promise<void> {
    await writePrivateFile(this.path, `${JSON.stringify(data, null, 2)}\n`);
  }
}

export class JsonDb<T> {
  private low: Low<T> | undefined;

  constructor(
    readonly path: string,
    private readonly locksDir: string,
    private readonly initial: () => T,
    private readonly shape: FileShape,
  ) {}

  /** lowdb, loaded on first use: commands that never touch a file do not pay for it. */
  private async db(): Promise<Low<T>> {
    if (!this.low) {
      const { Low: LowDb } = await import('lowdb');
      this.low = new LowDb<T>(new PrivateJsonFile<T>(this.path, this.shape), this.initial());
    }
    return this.low;
  }

  /** The current content of the file (or the initial value when there is none yet). */
  async read(): Promise<T> {
    const db = await this.db();
    await db.read();
    return db.data;
  }

  /** Applies `change` to the latest content under the file's lock and saves the result. */
  async update<R>(change: (data: T) => R | Promise<R>): Promise<R> {
    const db = await this.db();
    return withLock(this.locksDir, `file-${this.path}`, async () => {
      await db.read();
      const result = await change(db.data);
      await db.write();
      return result;
    });
  }
}
