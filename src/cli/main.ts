import { Command, CommanderError } from 'commander';
import { isConnectrError } from '../core/errors.js';
import type { Env } from '../core/paths.js';
import { VERSION } from '../core/version.js';
import { addGlobalOptions, commandIndex } from './globals.js';
import type { GlobalOptions } from './globals.js';
import { coreSetting } from '../core/settings/core.js';
import { escapeControls, escapeMessage } from './escape.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import type { IO } from './io.js';
import { write } from './io.js';
import type { Runner } from './runner.js';
import { registerAccounts } from './commands/accounts/register.js';
import { registerApi } from './commands/api/register.js';
import { registerApps } from './commands/apps/register.js';
import { registerAuth } from './commands/auth/register.js';
import { registerCall } from './commands/call/register.js';
import { registerMcp } from './commands/mcp/register.js';
import { registerCompletion } from './commands/completion/register.js';
import { registerConnections } from './commands/connections/register.js';
import { registerGenerate } from './commands/generate/register.js';
import { registerConnectors } from './commands/connectors/register.js';
import { registerServe } from './commands/serve/register.js';
import { registerVault } from './commands/vault/register.js';

/**
 * The command tree. Only commander and this file load at start-up; each command's work lives
 * in a module imported when that command runs, so `connectr --version` stays close to the
 * cost of starting node itself.
 */

export { VERSION };

type Register = (program: Command, runner: Runner) => void;

/** Each top-level command, with the function that adds it (one adds several), in help order. */
export const COMMANDS: readonly (readonly [name: string, register: Register])[] = [
  ['connectors', registerConnectors],
  ['call', registerCall],
  ['api', registerApi],
  ['auth', registerAuth],
  ['token', registerAuth],
  ['logout', registerAuth],
  ['accounts', registerAccounts],
  ['apps', registerApps],
  ['vault', registerVault],
  ['serve', registerServe],
  ['connections', registerConnections],
  ['generate', registerGenerate],
  ['mcp', registerMcp],
  ['completion', registerCompletion],
  ['__complete', registerCompletion],
];

/**
 * `invocation`: how to run connectr again from a shell (bin.ts knows how it was started).
 * `word`: the command being run; only its part of the tree is built (a few milliseconds of
 * every command otherwise). Without one, or with a word that is no command, the whole tree is,
 * for help and for suggestions.
 */
export function buildProgram(
  io: IO,
  env: Env,
  signal: AbortSignal,
  invocation?: () => string,
  word?: string,
): Command {
  const program = new Command('connectr');
  const runner: Runner = async (cmd, action, extra = {}) => {
    const { createContext } = await import('./context.js');
    const parsed = cmd.optsWithGlobals<GlobalOptions>();
    const globals: GlobalOptions = {
      ...parsed,
      ...extra,
      connectorsDir: [...(parsed.connectorsDir ?? []), ...(extra.connectorsDir ?? [])],
    };
    await action(createContext(io, env, globals, signal, invocation));
  };
  addGlobalOptions(program)
    .description(
      'Reach OAuth-protected APIs (Gmail, Dropbox, OneDrive, any API described in YAML) without writing OAuth code.',
    )
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  connectr connectors list
  connectr connectors show dropbox
  connectr auth gmail
  connectr call dropbox list_folder --path /
  connectr call gmail list_messages --q "is:unread" --all --limit 50
  connectr accounts
  curl -H "Authorization: Bearer $(connectr token gmail)" https://gmail.googleapis.com/gmail/v1/users/me/profile

Exit codes: 0 ok, 1 bad input (also an unknown name), 2 bad usage, 3 login needed, 4 API error,
5 network or service unavailable, 130 interrupted (Ctrl-C).
Docs: docs/cli.md`,
    );
  const chosen = COMMANDS.filter(([name]) => name === word);
  for (const register of new Set((chosen.length > 0 ? chosen : COMMANDS).map(([, r]) => r)))
    register(program, runner);
  configureTree(program, io);
  return program;
}

/** Output and error behaviour that every (sub)command must share. */
function configureTree(command: Command, io: IO): void {
  command
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(escapeControls(text)),
    })
    .showHelpAfterError(`(run \`${commandPath(command)} --help\` for usage)`);
  for (const sub of command.commands) configureTree(sub, io);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Runs the CLI and returns the exit code; never throws, never calls process.exit. */
export async function run(
  argv: readonly string[],
  io: IO,
  env: Env,
  signal: AbortSignal = new AbortController().signal,
  invocation?: () => string,
): Promise<number> {
  const program = buildProgram(io, env, signal, invocation, argv[commandIndex(argv)]);
  try {
    await program.parseAsync(separateCallArgs(argv), { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    return reportError(error, io, env);
  }
}

/**
 * `connectr call` takes flags that exist only once its connector and endpoint are known, so
 * everything after the word `call` is handed to it untouched (an inserted `--` stops commander
 * from reading them). Global options before `call` are parsed as usual.
 */
export function separateCallArgs(argv: readonly string[]): string[] {
  const i = commandIndex(argv);
  if (argv[i] === 'call' && argv[i + 1] !== '--')
    return [...argv.slice(0, i + 1), '--', ...argv.slice(i + 1)];
  return [...argv];
}

export function reportError(error: unknown, io: IO, env: Env): number {
  if (error instanceof CommanderError) {
    // Help and version are normal exits; anything else commander rejects is a usage error,
    // already printed by commander itself.
    if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code)) {
      return EXIT.ok;
    }
    return EXIT.usage;
  }
  const red = (text: string): string => (io.color ? `\u001b[31m${text}\u001b[39m` : text);
  // Messages may quote an upstream server or a file: each part is printed as one line with its
  // control characters and line breaks escaped, so none of its text starts a line of its own.
  // A ConnectrError of code `internal` is a bug found by connectr itself: it gets the same
  // report-a-bug hint (or the stack with CONNECTR_DEBUG=1) as an error connectr did not expect.
  if (isConnectrError(error) && error.code !== 'internal') {
    write(io.stderr, `${red('error:')} ${escapeMessage(error.message)}`);
    for (const line of error.details) write(io.stderr, `  ${escapeMessage(line)}`);
    if (error.hint) write(io.stderr, `hint: ${escapeMessage(error.hint)}`);
    return exitCodeFor(error.code);
  }
  const message = error instanceof Error ? error.message : String(error);
  write(io.stderr, `${red('error:')} internal error: ${escapeMessage(message)}`);
  if (isConnectrError(error)) for (const line of error.details) write(io.stderr, `  ${escapeMessage(line)}`);
  if (coreSetting(env, 'CONNECTR_DEBUG') && error instanceof Error && error.stack)
    write(io.stderr, escapeControls(error.stack));
  else
    write(
      io.stderr,
      'hint: this is a bug in connectr; run again with CONNECTR_DEBUG=1 and report the output',
    );
  return EXIT.input;
}
