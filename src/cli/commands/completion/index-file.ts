import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { Help, type Command, type Option } from 'commander';
import type { Connector } from '../../../core/connector/model.js';
import { packagePath } from '../../../core/install.js';
import type { CliContext } from '../../context.js';
import type { IO } from '../../io.js';
import { endpointCommand } from '../../calls/endpoint-flags.js';

/**
 * The completion index: everything the completion scripts offer, as tab-separated lines that
 * their awk program (scripts.ts) reads, so that a keypress starts awk and not node. Records:
 *
 *   key   <key>                          the connector directories it was built for (shell's key)
 *   watch <path>                         rebuild when this file or folder is newer than the index
 *   C <path> <sub>                       a subcommand of the command at <path> ("" is connectr)
 *   F <scope> <flag> <arity> <kind>      a flag of a command or of an endpoint ("@conn endpoint")
 *   A <path> <position> <kind>           what a command's positional argument is
 *   V <scope> <flag> <value>             a value of an enum flag
 *   N <connector>  E <connector> <endpoint>  U <connector> <account>
 *
 * Kinds: connector, endpoint, account, file, dir, enum, flags (an endpoint's flags follow), -.
 */

export const INDEX_FILE = 'completion.tsv';

/** A word the index can carry: no tab, line break or other control character. */
// eslint-disable-next-line no-control-regex
const printable = (word: string): boolean => word !== '' && !/[\u0000-\u001f\u007f-\u009f]/.test(word);

export async function completionIndex(ctx: CliContext, key: string): Promise<void> {
  // Made first: a new cache folder changes its parent (which may be watched) before the index
  // is dated, not after, or the next completion would rebuild again for nothing.
  try {
    mkdirSync(ctx.paths.cacheDir, { recursive: true, mode: 0o700 });
  } catch {
    // saveIndex says nothing either when the folder cannot be made: completion goes on without.
  }
  // Anything changed after this moment makes the index stale, also during this build.
  const started = new Date(Date.now() - 1000);
  const lines: string[] = [`key\t${printable(key) ? key : ''}`];
  const watch = new Set<string>([packagePath('dist', 'bundle'), packagePath('connectors')]);

  const { buildProgram } = await import('../../main.js');
  const program = buildProgram(silentIO(), ctx.env, ctx.signal);
  commandRecords(program, '', lines);

  const connectors = await loadQuietly(ctx, watch);
  for (const connector of connectors) connectorRecords(connector, lines);

  const accountsFile = join(ctx.paths.dataDir, 'accounts.json');
  watch.add(accountsFile);
  for (const [connector, account] of readAccounts(accountsFile)) lines.push(`U\t${connector}\t${account}`);

  const watched = new Set([...watch].map(existingAncestor).filter(printable));
  const header = [...watched].map((path) => `watch\t${path}`);
  const text = `${['#connectr-completion\t1', ...lines.slice(0, 1), ...header, ...lines.slice(1)].join('\n')}\n`;
  saveIndex(join(ctx.paths.cacheDir, INDEX_FILE), text, started);
  ctx.io.stdout.write(text);
}

/** Commands, subcommands, their flags and arguments, from the commander tree itself. */
function commandRecords(command: Command, path: string, lines: string[]): void {
  const help = new Help();
  for (const option of help.visibleOptions(command)) optionRecords(path, option, lines);
  for (const sub of help.visibleCommands(command)) {
    if (sub.name() === 'help') continue;
    lines.push(`C\t${path}\t${sub.name()}`);
    commandRecords(sub, path === '' ? sub.name() : `${path} ${sub.name()}`, lines);
  }
  // A command run by its default subcommand (`accounts` is `accounts list`) takes its arguments.
  const fallback = command.commands.find((c) => c.name() === defaultSubcommand(command));
  const args =
    command.registeredArguments.length > 0 || !fallback
      ? command.registeredArguments
      : fallback.registeredArguments;
  args.forEach((arg, i) => {
    const choices = (arg.argChoices ?? []).filter(printable);
    lines.push(`A\t${path}\t${i + 1}\t${choices.length > 0 ? 'enum' : argumentKind(arg.name())}`);
    for (const value of choices) lines.push(`V\t${path}\t#${i + 1}\t${value}`);
  });
}

function defaultSubcommand(command: Command): string | undefined {
  // Commander keeps it in a field without a public getter.
  const name = (command as unknown as { _defaultCommandName?: unknown })._defaultCommandName;
  return typeof name === 'string' ? name : undefined;
}

/** An argument's name says what it is: `<connector>`, `[endpoint]`, `<account>`, `[flags...]`. */
function argumentKind(name: string): string {
  if (['connector', 'endpoint', 'account', 'flags'].includes(name)) return name;
  if (/^paths?$|file/.test(name)) return 'file';
  return '-';
}

function optionRecords(scope: string, option: Option, lines: string[], enumValues?: readonly string[]): void {
  const arity = option.required ? 1 : 0;
  const placeholder = /<([^>]*)>/.exec(option.flags)?.[1] ?? '';
  const choices = enumValues ?? option.argChoices;
  let kind = '-';
  if (choices?.length) kind = 'enum';
  else if (option.long === '--account') kind = 'account';
  else if (option.long === '--connector') kind = 'connector';
  else if (placeholder.startsWith('dir')) kind = 'dir';
  else if (/^(file|path)/.test(placeholder)) kind = 'file';
  for (const flag of [option.short, option.long]) {
    if (!flag) continue;
    lines.push(`F\t${scope}\t${flag}\t${arity}\t${kind}`);
    if (kind === 'enum')
      for (const value of choices ?? []) if (printable(value)) lines.push(`V\t${scope}\t${flag}\t${value}`);
  }
}

/** A connector's name, its endpoints, and each endpoint's flags as `connectr call` builds them. */
function connectorRecords(connector: Connector, lines: string[]): void {
  lines.push(`N\t${connector.name}`);
  for (const endpoint of connector.endpoints) {
    lines.push(`E\t${connector.name}\t${endpoint.name}`);
    const scope = `@${connector.name} ${endpoint.name}`;
    const command = endpointCommand(connector, endpoint, silentIO());
    for (const option of new Help().visibleOptions(command)) {
      const param = endpoint.params.find((p) => `--${p.flag}` === option.long);
      const values = param?.enum?.map(String);
      optionRecords(scope, option, lines, param?.type === 'file' ? undefined : values);
    }
  }
}

/**
 * The connectors, loaded as every command loads them, but silently: a broken file, or a
 * connectors folder that does not exist yet, must not print anything under the user's prompt.
 */
async function loadQuietly(ctx: CliContext, watch: Set<string>): Promise<readonly Connector[]> {
  const { loadRegistry } = await import('../../../core/connector/registry.js');
  const extraDirs = ctx.connectorDirs.map((dir) => resolve(dir)).filter((dir) => isDirectory(dir));
  for (const dir of [ctx.paths.userConnectorsDir, ...ctx.connectorDirs.map((d) => resolve(d))])
    watch.add(dir);
  try {
    const registry = await loadRegistry({
      userDir: ctx.paths.userConnectorsDir,
      extraDirs,
      cacheFile: join(ctx.paths.cacheDir, 'connectors.json'),
    });
    for (const c of registry.connectors) watch.add(c.source.file);
    for (const f of registry.invalid) watch.add(f.file);
    return registry.connectors;
  } catch {
    return [];
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** [connector, account] pairs from the account list; nothing when it is missing or unreadable. */
function readAccounts(file: string): [string, string][] {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { accounts?: unknown };
    if (!Array.isArray(data.accounts)) return [];
    const pairs: [string, string][] = [];
    for (const record of data.accounts as unknown[]) {
      if (typeof record !== 'object' || record === null) continue;
      const { connector, account } = record as { connector?: unknown; account?: unknown };
      if (
        typeof connector === 'string' &&
        typeof account === 'string' &&
        printable(connector) &&
        printable(account)
      )
        pairs.push([connector, account]);
    }
    return pairs;
  } catch {
    return [];
  }
}

/** A path that does not exist yet is watched through the nearest folder that does. */
function existingAncestor(path: string): string {
  let current = path;
  while (!existsSync(current)) {
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}

/**
 * Written atomically (a reader never sees half an index), dated from before the build began,
 * so that a definition changed while it ran still makes it stale. A cache folder that cannot
 * be written is no error: the script then runs this command each time.
 */
function saveIndex(file: string, text: string, started: Date): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(temp, text, { mode: 0o600 });
    utimesSync(temp, started, started);
    renameSync(temp, file);
  } catch {
    try {
      rmSync(temp, { force: true });
    } catch {
      // nothing to remove
    }
  }
}

function silentIO(): IO {
  const sink = new PassThrough();
  sink.resume();
  return {
    stdin: new PassThrough(),
    stdout: sink,
    stderr: sink,
    stdinIsTTY: false,
    stdoutIsTTY: false,
    stderrIsTTY: false,
    color: false,
    columns: 80,
  };
}
