import { Command, InvalidArgumentError, Option } from 'commander';
import type { Connector, Endpoint, Param } from '../../core/connector/model.js';
import { escapeControls } from '../escape.js';
import { addGlobalOptions } from '../globals.js';
import type { IO } from '../io.js';
import { flagUsage, paramNotes } from '../describe.js';
import { collect } from '../repeatable.js';
import { addAttemptOptions } from './attempt-flags.js';

/** `--flag`, `--flag=true`, `--flag=false` (also yes/no, 1/0): a boolean either way. */
function parseBoolean(value: string): boolean {
  if (/^(true|yes|1)$/i.test(value)) return true;
  if (/^(false|no|0)$/i.test(value)) return false;
  throw new InvalidArgumentError('expected true or false.');
}

/** A boolean flag that also takes an explicit value: `--all`, `--all=true`, `--all=false`. */
function booleanOption(flag: string, description: string): Option {
  return new Option(`${flag} [true|false]`, description).argParser(parseBoolean);
}

/**
 * A commander command for one endpoint: one flag per declared param (typed in the help, checked
 * later by core/engine/params.ts so the server checks the same way), and connectr's own flags.
 * Commander gives the help text, unknown-flag suggestions and usage errors.
 */
export function endpointCommand(connector: Connector, endpoint: Endpoint, io: IO): Command {
  const command = new Command(`connectr call ${connector.name} ${endpoint.name}`)
    .description(`${endpoint.summary}${endpoint.description ? `\n\n${endpoint.description}` : ''}`)
    .helpOption('-h, --help', 'show this help')
    .configureHelp({ helpWidth: io.columns })
    .exitOverride()
    .configureOutput({
      writeOut: (t) => io.stdout.write(t),
      writeErr: (t) => io.stderr.write(escapeControls(t)),
    })
    .showSuggestionAfterError(true)
    .showHelpAfterError(`(run \`connectr call ${connector.name} ${endpoint.name} --help\` for its flags)`);
  for (const param of endpoint.params) {
    for (const option of paramOptions(param, endpoint)) command.addOption(option);
  }
  command
    .option('--account <name>', 'the account to call as (default: the default account)')
    .addOption(booleanOption('--all', 'follow the pagination and print every item as one JSON line (NDJSON)'))
    .option('--max-pages <n>', 'with --all: stop after this many pages')
    .option('--limit <n>', 'with --all: stop after this many items')
    .option(
      '--param <name=value>',
      'set a param by name, or add a query parameter the definition lacks (repeatable)',
      collect,
    )
    .option('--body <data>', 'the whole request body: JSON text, @file, or - for stdin')
    .option('--data <data>', 'same as --body')
    .option('-H, --header <header>', "add a request header, 'Name: value' (repeatable)", collect)
    .addOption(
      booleanOption('--force', 'with -H: allow a header that replaces the credential (then none is added)'),
    )
    .option('--jq <expr>', 'filter JSON output with a jq expression (each item with --all)')
    .addOption(booleanOption('--raw', 'print the response body exactly as received'))
    .addOption(booleanOption('-i, --include', 'print the status line and response headers too'))
    .option('-o, --output <file>', 'write the response body to a file')
    .addOption(booleanOption('--dry-run', 'print the request that would be sent (secrets hidden) and stop'))
    .addOption(
      booleanOption(
        '--curl',
        'print an equivalent curl command (it gets the token from `connectr token`) and stop',
      ),
    );
  addAttemptOptions(command).addOption(
    booleanOption(
      '--verbose',
      'print the request, each response (status, headers, time) and each retry to stderr',
    ),
  );
  addGlobalOptions(command);
  const notes: string[] = [];
  if (endpoint.pagination) notes.push(`Paginated (${endpoint.pagination.style}): --all follows every page.`);
  if (endpoint.upload_session) {
    notes.push(
      `Bodies over ${endpoint.upload_session.threshold} bytes (or from stdin) use ${connector.displayName}'s upload session.`,
    );
  }
  if (endpoint.response?.encoding === 'binary') notes.push('The response is a file: use -o FILE or pipe it.');
  if (endpoint.scopes?.length) notes.push(`Scopes (any of): ${endpoint.scopes.join(' ')}`);
  if (endpoint.docs_url) notes.push(`Docs: ${endpoint.docs_url}`);
  notes.push(`Request: ${endpoint.method} ${endpoint.host} ${endpoint.path}`);
  command.addHelpText('after', `\n${notes.join('\n')}`);
  return command;
}

function paramOptions(param: Param, endpoint: Endpoint): Option[] {
  const description = paramNotes(param, endpoint);
  if (param.type === 'boolean') {
    return [
      booleanOption(`--${param.flag}`, description),
      new Option(`--no-${param.flag}`, `send ${param.key} = false`).hideHelp(),
    ];
  }
  const usage = flagUsage(param);
  return [new Option(usage, description)];
}

/** The value commander collected for a param, by the attribute name of its flag. */
export function optionValue(command: Command, param: Param): unknown {
  const option = command.options.find((o) => o.long === `--${param.flag}`);
  return option ? command.getOptionValue(option.attributeName()) : undefined;
}
