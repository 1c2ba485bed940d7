import type { Command } from 'commander';
import type { Runner } from '../../runner.js';
import { collect } from '../../repeatable.js';
import { addAttemptOptions } from '../../calls/attempt-flags.js';

export interface ApiFlags {
  readonly method?: string;
  readonly header?: string[];
  readonly force?: boolean;
  readonly field?: string[];
  readonly input?: string;
  readonly host?: string;
  readonly paginate?: boolean;
  readonly maxPages?: string;
  readonly account?: string;
  readonly jq?: string;
  readonly include?: boolean;
  readonly raw?: boolean;
  readonly output?: string;
  readonly dryRun?: boolean;
  readonly verbose?: boolean;
  readonly retries: string;
  readonly timeout: string;
}

/** `connectr api <connector> <path>`: wiring only; the work is in api.ts, loaded when run. */
export function registerApi(program: Command, runner: Runner): void {
  const command = program
    .command('api')
    .description("a request of your own to any path of a connector's API, signed in as its account")
    .argument('<connector>', 'connector name, e.g. gmail')
    .argument('<path>', "a path below the connector's host (/gmail/v1/users/me/profile), or a full URL on it")
    .option('-X, --method <method>', 'HTTP method (default GET, or POST when -f builds a body)')
    .option('-H, --header <header>', "add a request header, 'Name: value' (repeatable)", collect)
    .option('--force', 'with -H: allow a header that replaces the credential (then none is added)')
    .option(
      '-f, --field <key=value>',
      'a field of the JSON body, or of the query for GET (key[]=v: a list)',
      collect,
    )
    .option('--input <file>', 'the request body from a file, or - for stdin (then -f goes to the query)')
    .option(
      '--host <key>',
      "which of the connector's hosts (default: the one of the matching endpoint, else the first)",
    )
    .option(
      '--paginate',
      "follow the pages (the matching endpoint's style, else Link headers); one JSON line per item",
    )
    .option('--max-pages <n>', 'with --paginate: stop after this many pages')
    .option('--account <name>', 'the account to call as (default: the default account)')
    .option('--jq <expr>', 'filter JSON output with a jq expression (each item with --paginate)')
    .option('-i, --include', 'print the status line and response headers too')
    .option('--raw', 'print the response body exactly as received')
    .option('-o, --output <file>', 'write the response body to a file')
    .option('--dry-run', 'print the request that would be sent (secrets hidden) and stop')
    .option('--verbose', 'print the request, each response (status, headers, time) and each retry to stderr');
  addAttemptOptions(command)
    .addHelpText(
      'after',
      [
        '',
        "The credential goes only to the connector's own hosts: a full URL elsewhere is refused.",
        '',
        'Examples:',
        '  connectr api gmail /gmail/v1/users/me/profile',
        "  connectr api gmail '/gmail/v1/users/me/messages?q=is:unread' --paginate --jq '.id'",
        "  connectr api dropbox /2/files/list_folder -f path= --jq '.entries[].name'",
        "  connectr api onedrive /me/drive/root/children -H 'Prefer: respond-async' --verbose",
        '',
        'Docs: docs/cli.md',
      ].join('\n'),
    )
    .action(async (connector: string, path: string, flags: ApiFlags, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./api.js')).apiCommand(ctx, connector, path, flags));
    });
}
