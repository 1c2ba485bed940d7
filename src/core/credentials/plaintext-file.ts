import { JsonDb } from '../fs/json-db.js';
import { entryKey } from './secret-store.js';
import type { SecretStore } from './secret-store.js';

/**
 * Secrets in a plain 0600 file. Only ever chosen by the user with --insecure-storage, for
 * machines with neither a keychain nor a way to supply a passphrase.
 */
interface PlainFile {
  version: 1;
  entries: Record<string, string>;
}

export class PlaintextFileStore implements SecretStore {
  readonly kind = 'plaintext-file';
  readonly location: string;
  private readonly db: JsonDb<PlainFile>;

  constructor(
    readonly path: string,
    locksDir: string,
  ) {
    this.location = `plaintext file ${path}`;
    this.db = new JsonDb<PlainFile>(path, locksDir, () => ({ version: 1, entries: {} }), {
      schema: (z) => z.object({ version: z.literal(1), entries: z.record(z.string(), z.string()) }),
      what: "connectr's plaintext secret file",
    });
  }

  async get(service: string, account: string): Promise<string | null> {
    return (await this.db.read()).entries[entryKey(service, account)] ?? null;
  }

  async set(service: string, account: string, secret: string): Promise<void> {
    await this.db.update((file) => {
      file.entries[entryKey(service, account)] = secret;
    });
  }

  async delete(service: string, account: string): Promise<boolean> {
    return this.db.update((file) => {
      const key = entryKey(service, account);
      if (!(key in file.entries)) return false;
      delete file.entries[key];
      return true;
    });
  }

  async count(): Promise<number> {
    return Object.keys((await this.db.read()).entries).length;
  }
}
