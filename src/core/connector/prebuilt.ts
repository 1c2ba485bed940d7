import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { readIfExists } from '../fs/files.js';
import { packagePath } from '../install.js';
import type { Connector, ConnectorSource } from './model.js';

/**
 * The built-in connectors, validated by `npm run build` (scripts/prebuild-connectors.mjs) into
 * dist/connectors.json, so that a command on an empty home (CI, a container, the first run
 * after an upgrade) loads neither the YAML parser nor the schema (issue #8). An entry is used
 * only while the YAML file still has the content it was built from (its fingerprint); otherwise,
 * or when the JSON is missing or damaged, the loader validates the file as for any other.
 */

export const PREBUILT_FILE = packagePath('dist', 'connectors.json');

export interface PrebuiltEntry {
  /** The file's name in connectors/. */
  readonly file: string;
  /** `fingerprint()` of the file's text when it was validated. */
  readonly fingerprint: string;
  readonly connector: Omit<Connector, 'source'>;
}

export interface PrebuiltFile {
  readonly version: 2;
  readonly entries: readonly PrebuiltEntry[];
}

/**
 * A fingerprint of a file's text: its length and two 32-bit FNV-1a hashes. It only tells
 * whether a built-in file changed since the build (someone edited the installed package); it
 * defends against no one (whoever can write the package can change its code), so it need not
 * be a cryptographic hash, and computing one loaded node:crypto (some 2 ms) at every start of
 * an empty home.
 */
export function fingerprint(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return `${text.length}-${(a >>> 0).toString(16)}-${(b >>> 0).toString(16)}`;
}

export class PrebuiltConnectors {
  private entries: ReadonlyMap<string, PrebuiltEntry> | undefined;

  /** The file is read on the first lookup: a warm home finds every connector in its cache. */
  constructor(private readonly path: string = PREBUILT_FILE) {}

  private load(): ReadonlyMap<string, PrebuiltEntry> {
    if (this.entries) return this.entries;
    this.entries = new Map();
    try {
      const data = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<PrebuiltFile>;
      // Entries that are not a list throw here, and count as a damaged file.
      if (data.version === 2 && data.entries) this.entries = new Map(data.entries.map((e) => [e.file, e]));
    } catch {
      // Missing or damaged: every built-in file is validated instead.
    }
    return this.entries;
  }

  /** The connector built from this file, when the file has not changed since. */
  async lookup(source: ConnectorSource): Promise<Connector | undefined> {
    const entry = this.load().get(basename(source.file));
    if (!entry) return undefined;
    let text: string | undefined;
    try {
      text = await readIfExists(source.file);
    } catch {
      return undefined;
    }
    return text !== undefined && fingerprint(text) === entry.fingerprint
      ? { ...entry.connector, source }
      : undefined;
  }
}
