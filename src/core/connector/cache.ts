import type { Stats } from 'node:fs';
import { BUILD_ID } from '../install.js';
import { readIfExists, writePrivateFile } from '../fs/files.js';
import type { ParseResult } from './load.js';
import type { Connector, ConnectorSource } from './model.js';
import type { DefinitionProblem } from './problem.js';

/**
 * Validated connectors, remembered between runs so a command does not load the YAML parser and
 * the schema (a third of `connectr call`'s start-up) for files that did not change. An entry is
 * used only while its file keeps the same size and modification time, and the whole cache only
 * by the build of connectr that wrote it.
 */

type Stored =
  { ok: true; connector: Omit<Connector, 'source'> } | { ok: false; problems: DefinitionProblem[] };

interface Entry {
  file: string;
  mtimeMs: number;
  size: number;
  result: Stored;
}

interface CacheFile {
  build: string;
  entries: Entry[];
}

export class ConnectorCache {
  private entries = new Map<string, Entry>();
  private dirty = false;

  constructor(private readonly path: string | undefined) {}

  async open(): Promise<void> {
    if (!this.path) return;
    try {
      const text = await readIfExists(this.path);
      const data = text ? (JSON.parse(text) as CacheFile) : undefined;
      if (data?.build === BUILD_ID) this.entries = new Map(data.entries.map((e) => [e.file, e]));
    } catch {
      // A damaged cache is rebuilt.
    }
  }

  lookup(info: Stats, source: ConnectorSource): ParseResult | undefined {
    const entry = this.entries.get(source.file);
    if (entry?.mtimeMs !== info.mtimeMs || entry.size !== info.size) return undefined;
    return entry.result.ok
      ? { ok: true, connector: { ...entry.result.connector, source } }
      : { ok: false, problems: entry.result.problems };
  }

  remember(info: Stats, file: string, result: ParseResult): void {
    let stored: Stored;
    if (result.ok) {
      const { source: _source, ...connector } = result.connector;
      stored = { ok: true, connector };
    } else stored = { ok: false, problems: [...result.problems] };
    this.entries.set(file, { file, mtimeMs: info.mtimeMs, size: info.size, result: stored });
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.path || !this.dirty) return;
    try {
      await writePrivateFile(
        this.path,
        JSON.stringify({ build: BUILD_ID, entries: [...this.entries.values()] }),
        { durable: false },
      );
    } catch {
      // Only a cache: a read-only home must not break the command (and a crash that loses or
      // truncates it only means validating again: a damaged cache is rebuilt).
    }
  }
}
