import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { readIfExists } from '../fs/files.js';
import { packagePath } from '../install.js';
import type { Connector, ConnectorSource } from './model.js';

/**
 * The built-in connectors, validated by `npm run build` (scripts/prebuild-connectors.mjs) into
 * dist/connectors.json, so that a command on an empty home (CI, a container, the first run
 * after an upgrade) loads neither the YAML parser nor the schema (issue #8). An entry is used
 * only while the YAML file still has the text it was built from (kept in the entry, compared
 * whole); otherwise, or when the JSON is missing or damaged, the loader validates the file as
 * for any other.
 */

export const PREBUILT_FILE = packagePath('dist', 'connectors.json');

export interface PrebuiltEntry {
  /** The file's name in connectors/. */
  readonly file: string;
  /**
   * The file's text when it was validated. Compared whole: a string comparison is a memory
   * comparison in V8, where hashing the text in JavaScript (some 90 KB of built-in files, run
   * by the interpreter on a short-lived process) took several milliseconds of every first call,
   * and node:crypto costs as much to load (issue #20).
   */
  readonly text: string;
  readonly connector: Omit<Connector, 'source'>;
}

export interface PrebuiltFile {
  readonly version: 3;
  readonly entries: readonly PrebuiltEntry[];
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
      if (data.version === 3 && data.entries) this.entries = new Map(data.entries.map((e) => [e.file, e]));
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
    return text === entry.text ? { ...entry.connector, source } : undefined;
  }
}
