import { closeSync, constants, fstatSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConnectrError, messageOf } from '../errors.js';
import { packagePath } from '../install.js';
import { closest } from '../suggest.js';
import { ConnectorCache } from './cache.js';
import { PrebuiltConnectors } from './prebuilt.js';
import type { ParseResult } from './load.js';
import type { DefinitionProblem } from './problem.js';
import type { Connector, ConnectorOrigin } from './model.js';
import { formatRef } from './versions.js';

/**
 * All connectors a command can use: the built-in ones shipped in `connectors/`, then the
 * user's connectors directory, then any extra directories (`--connectors-dir`). A later file
 * replaces an earlier one of the same name and version, so a user can fix or extend a built-in
 * connector without waiting for a release; one of another version is kept beside it (versions.ts). A broken file is reported and skipped; it never hides the
 * others.
 */

export const BUILTIN_CONNECTORS_DIR = packagePath('connectors');

export interface RegistryOptions {
  readonly builtinDir?: string;
  /** The user's connectors directory; skipped quietly when it does not exist. */
  readonly userDir?: string;
  /** Directories named explicitly; each must exist. */
  readonly extraDirs?: readonly string[];
  /** Where validated connectors are remembered between runs (none: always parse). */
  readonly cacheFile?: string;
  /** The built-in connectors validated at build time (default: dist/connectors.json). */
  readonly prebuiltFile?: string;
}

export interface FileProblems {
  readonly file: string;
  readonly origin: ConnectorOrigin;
  readonly problems: readonly DefinitionProblem[];
}

export class Registry {
  /** The newest version of each connector, by name: what a command uses unless told a version. */
  readonly connectors: readonly Connector[];
  private readonly byName: ReadonlyMap<string, readonly Connector[]>;

  /** `all`: every version of every connector loaded (one per name and version). */
  constructor(
    all: readonly Connector[],
    readonly invalid: readonly FileProblems[],
  ) {
    const byName = new Map<string, Connector[]>();
    for (const connector of all) {
      const versions = byName.get(connector.name);
      if (versions) versions.push(connector);
      else byName.set(connector.name, [connector]);
    }
    // Newest first: get(name) and the list are the first of each.
    for (const versions of byName.values()) versions.sort((a, b) => b.version - a.version);
    this.byName = byName;
    this.connectors = [...byName.values()].flatMap((versions) => versions.slice(0, 1));
  }

  /** The connector called `name`: the version given, else its newest. */
  get(name: string, version?: number): Connector | undefined {
    const versions = this.byName.get(name);
    return version === undefined ? versions?.[0] : versions?.find((c) => c.version === version);
  }

  /** Every loaded version of `name`, newest first (none when no such connector is loaded). */
  versions(name: string): readonly Connector[] {
    return this.byName.get(name) ?? [];
  }

  /** The connector called `name`, or an error that suggests the nearest name. */
  require(name: string): Connector {
    const found = this.get(name);
    if (found) return found;
    const names = this.connectors.map((c) => c.name);
    const suggestion = closest(name, names);
    const broken = this.invalid.find((f) => f.file.includes(name));
    throw new ConnectrError('not_found', `unknown connector "${name}"`, {
      hint: broken
        ? `${broken.file} failed to load; run \`connectr connectors validate ${broken.file}\``
        : suggestion
          ? `did you mean "${suggestion}"? Run \`connectr connectors list\` to see all.`
          : `available: ${names.join(', ') || 'none'}. Run \`connectr connectors list\`.`,
    });
  }

  /** `name` at `version` (its newest when none), or an error listing the versions loaded. */
  requireVersion(name: string, version: number | undefined): Connector {
    const newest = this.require(name);
    if (version === undefined) return newest;
    const found = this.get(name, version);
    if (found) return found;
    throw new ConnectrError('not_found', `connector ${name} has no version ${version}`, {
      hint: `loaded versions: ${this.versions(name)
        .map((c) => c.version)
        .join(', ')} (\`connectr connectors show ${name}\`)`,
    });
  }
}

export const CONNECTOR_FILE = /\.ya?ml$/i;

export async function loadRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const dirs: { dir: string; origin: ConnectorOrigin; mustExist: boolean }[] = [
    { dir: options.builtinDir ?? BUILTIN_CONNECTORS_DIR, origin: 'builtin', mustExist: true },
  ];
  if (options.userDir) dirs.push({ dir: options.userDir, origin: 'user', mustExist: false });
  for (const dir of options.extraDirs ?? [])
    dirs.push({ dir: resolve(dir), origin: 'extra', mustExist: true });

  // By name and version: a later directory's file replaces an earlier one's of the same
  // version, and adds to it one of another version.
  const byKey = new Map<string, Connector>();
  const invalid: FileProblems[] = [];
  const cache = new ConnectorCache(options.cacheFile);
  await cache.open();
  const prebuilt = new PrebuiltConnectors(options.prebuiltFile);
  for (const { dir, origin, mustExist } of dirs) {
    const files = listConnectorFiles(dir, mustExist);
    const seenHere = new Map<string, string>();
    for (const file of files) {
      const result = await loadCached(cache, file, origin, origin === 'builtin' ? prebuilt : undefined);
      if (!result.ok) {
        invalid.push({ file, origin, problems: result.problems });
        continue;
      }
      const { connector } = result;
      const key = formatRef(connector.name, connector.version);
      const twin = seenHere.get(key);
      if (twin) {
        invalid.push({
          file,
          origin,
          problems: [
            {
              file,
              line: 1,
              column: 1,
              path: 'name',
              message: `connector "${connector.name}" version ${connector.version} is already defined in ${twin} in the same directory; rename one or give it another version`,
            },
          ],
        });
        continue;
      }
      seenHere.set(key, file);
      const previous = byKey.get(key);
      byKey.set(
        key,
        previous
          ? { ...connector, source: { ...connector.source, overrides: previous.source.file } }
          : connector,
      );
    }
  }
  await cache.save();
  // By code point: names are lowercase ASCII, and localeCompare would load ICU (~8 ms).
  const connectors = [...byKey.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return new Registry(connectors, invalid);
}

/**
 * A file's connector from the cache while the file keeps its size and time (a stat), else
 * from the build's validated copy while it keeps its content (read and hashed), else parsed
 * and validated; remembered in the cache for the next run either way.
 */
async function loadCached(
  cache: ConnectorCache,
  file: string,
  origin: ConnectorOrigin,
  prebuilt: PrebuiltConnectors | undefined,
): Promise<ParseResult> {
  let info;
  try {
    // Synchronous, as the directory listing: a stat per file is all a warm home does here,
    // and the promise API costs more to load than these calls take.
    info = statSync(file);
  } catch {
    return loadConnectorFile(file, origin);
  }
  const cached = cache.lookup(info, { file, origin });
  if (cached) return cached;
  const built = await prebuilt?.lookup({ file, origin });
  const result = built ? { ok: true as const, connector: built } : await loadConnectorFile(file, origin);
  cache.remember(info, file, result);
  return result;
}

/** The largest connector file read: the built-in ones are under 50 KB. */
export const MAX_CONNECTOR_FILE_BYTES = 5 * 1024 * 1024;

/**
 * Reads and validates one file (loading the YAML parser and the schema on first use). Whatever
 * goes wrong is returned as this file's problems, so one broken file never stops the others.
 */
export async function loadConnectorFile(file: string, origin: ConnectorOrigin): Promise<ParseResult> {
  const problem = (message: string): ParseResult => ({
    ok: false,
    problems: [{ file, line: 1, column: 1, path: '', message }],
  });
  // The size is checked on the open file before reading it, and only regular files are read
  // (a FIFO named x.yaml would block forever). Synchronous calls, as files.ts reads small
  // files: a definition is read once per run, and loading the promise API costs more.
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const info = fstatSync(fd);
    if (!info.isFile()) return problem('not a regular file; connector files are .yaml files');
    if (info.size > MAX_CONNECTOR_FILE_BYTES) {
      return problem(
        `the file is ${megabytes(info.size)} MB; connector files may be at most ${megabytes(MAX_CONNECTOR_FILE_BYTES)} MB`,
      );
    }
    text = readFileSync(fd, 'utf8');
  } catch (error) {
    return problem(`cannot read file: ${messageOf(error)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  try {
    const { parseConnector } = await import('./load.js');
    return parseConnector(text, { file, origin });
  } catch (error) {
    return problem(`cannot load file: ${messageOf(error)}`);
  }
}

function megabytes(bytes: number): string {
  return String(Math.round((bytes / (1024 * 1024)) * 10) / 10);
}

/** The connector files in `dir`, sorted so loading order (and so overrides) is stable. */
export function listConnectorFiles(dir: string, mustExist: boolean): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    if (!mustExist && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConnectrError('invalid_input', `cannot read connectors directory ${dir}: ${messageOf(error)}`, {
      hint: mustExist
        ? 'pass an existing directory to --connectors-dir'
        : 'point CONNECTR_HOME (or XDG_CONFIG_HOME) at a folder, or move that file away',
    });
  }
  return entries
    .filter((e) => CONNECTOR_FILE.test(e))
    .sort()
    .map((e) => join(dir, e));
}

/** Expands files and directories given on the command line into connector files. */
export async function expandPaths(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const full = resolve(path);
    let info;
    try {
      info = await stat(full);
    } catch {
      throw new ConnectrError('invalid_input', `no such file or directory: ${path}`, {
        hint: 'give the path of a connector .yaml file or of a directory of them',
      });
    }
    if (info.isDirectory()) files.push(...listConnectorFiles(full, true));
    else files.push(full);
  }
  return files;
}
