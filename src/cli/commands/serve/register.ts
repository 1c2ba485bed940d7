import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { Runner } from '../../runner.js';
import { collect } from '../../repeatable.js';
import { API_KEY_SCOPES } from '../../../server/contracts.js';
import type { ApiKeyScope } from '../../../server/contracts.js';
import { SERVE_FLAGS, flagValue } from '../../../server/settings.js';
import type { ServeFlag, ServeFlags } from '../../../server/settings.js';
import type { LogsFlags } from './logs.js';
import type { ConsoleFlags } from './console.js';

/** A whole-number option from `min` to `max`, refused with commander's usage error otherwise. */
function wholeCount(min: number, max: number): (given: string) => number {
  return (given) => {
    const n = Number(given);
    if (!/^\d+$/.test(given.trim()) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/**
 * `connectr serve` and its admin commands: wiring only. The server (Fastify, the database)
 * is imported by the action, so no other command ever loads it.
 */

/** A serve flag as commander's option: its syntax, help, parser (the schema of settings.ts) and default. */
function optionOf(flag: ServeFlag): Option {
  const option = new Option(flag.syntax, flag.help);
  const value = flag.value;
  if (value !== undefined && 'choices' in value) option.choices(value.choices);
  else if (value !== undefined) {
    option.argParser((given: string) => {
      const parsed = flagValue(value, given);
      if (parsed === undefined) throw new InvalidArgumentError(value.expected);
      return parsed;
    });
  } else if (flag.repeatable === true) option.argParser(collect);
  if (flag.default !== undefined) option.default(flag.default);
  return option;
}

export function registerServe(program: Command, runner: Runner): void {
  const serve = program
    .command('serve')
    .description('run the REST API for programs and SDKs: connectors, connections and calls over HTTP');
  for (const flag of Object.values(SERVE_FLAGS) as ServeFlag[]) serve.addOption(optionOf(flag));
  serve
    .addHelpText(
      'after',
      `
Listens until SIGTERM or Ctrl-C, then stops accepting, finishes the requests in flight and
exits 0. The database is PostgreSQL when DATABASE_URL is set, else PGlite in the data directory.

Examples:
  connectr serve
  connectr serve --port 8080 --host 0.0.0.0 --cors-origin https://app.example.com
  curl -H "Authorization: Bearer $KEY" http://127.0.0.1:5000/api/v1/connectors
Docs: docs/server.md; every setting: docs/configuration.md`,
    )
    .action(async (flags: ServeFlags, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./serve.js')).serve(ctx, flags));
    });

  const keys = serve.command('keys').description("manage the server's API keys (works while servers run)");
  keys
    .command('create')
    .description('create an API key; it is shown once')
    .requiredOption('--name <name>', 'what the key is for, e.g. "billing-worker"')
    .option('--project <project>', 'the project the key belongs to (default: "default")')
    .option('--allow-token', 'the key may read access tokens (GET /connections/{id}/token)')
    .addOption(
      new Option(
        '--scope <scope>',
        'what the key reaches: "project" (its project\'s API) or "metrics" (GET /metrics alone, for a scraper)',
      )
        .choices(API_KEY_SCOPES)
        .default('project'),
    )
    .action(
      async (
        opts: { name: string; project?: string; allowToken?: boolean; scope: ApiKeyScope },
        cmd: Command,
      ) => {
        await runner(cmd, async (ctx) =>
          (await import('./keys.js')).createKey(ctx, {
            name: opts.name,
            project: opts.project,
            allowToken: opts.allowToken === true,
            scope: opts.scope,
          }),
        );
      },
    );
  keys
    .command('list')
    .description('list API keys: id, prefix, project, last use, revoked (never the secret)')
    .option('--project <project>', 'only the keys of this project')
    .action(async (opts: { project?: string }, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./keys.js')).listKeys(ctx, { project: opts.project }));
    });
  keys
    .command('revoke')
    .description('revoke an API key: every server refuses it from its next request')
    .argument('<id-or-prefix>', 'the key id, or the visible prefix `keys list` shows')
    .action(async (idOrPrefix: string, _opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./keys.js')).revokeKey(ctx, idOrPrefix));
    });

  serve
    .command('logs')
    .description("a running server's call log: every execute, raw-proxy and MCP call of the key's project")
    .option('-f, --follow', 'keep printing calls as they are made, until Ctrl-C')
    .option('--connection <id>', 'only the calls of this connection')
    .option('--connector <name>', 'only the calls of this connector')
    .option('--status <status>', 'only calls the API answered with this status (429) or class (5xx)')
    .option(
      '--since <when>',
      'only calls since this time (2030-01-01T00:00:00Z) or duration ago (10m, 2h, 7d)',
    )
    .option(
      '--limit <count>',
      'how many of the latest calls to show first (1 to 500)',
      wholeCount(1, 500),
      50,
    )
    .option('--interval <ms>', 'with --follow: how often to ask the server', wholeCount(100, 60_000), 1000)
    .option('--server <url>', 'the server, e.g. http://127.0.0.1:5000 (default: CONNECTR_URL)')
    .option(
      '--api-key <key>',
      'an API key of the project (default: CONNECTR_API_KEY, which keeps it out of ps)',
    )
    .addHelpText(
      'after',
      `
Oldest first; with --json one JSON object per line. Calls show within CONNECTR_CALL_LOG_FLUSH_MS
(1 s) of their end.

Examples:
  export CONNECTR_URL=http://127.0.0.1:5000 CONNECTR_API_KEY=...   # from connectr serve keys create
  connectr serve logs --follow
  connectr serve logs --connector gmail --status 4xx --since 1h --json
Docs: docs/server.md (Call log)`,
    )
    .action(async (flags: LogsFlags, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./logs.js')).serveLogs(ctx, flags));
    });

  serve
    .command('console')
    .description('open the admin console in your browser, signed in (one-time link from the running server)')
    .option('--project <name>', 'the project to sign in to (default: default)')
    .option('--no-open', 'print the link instead of opening the browser')
    .option('--server <url>', 'on PostgreSQL: the server the link points to (default: CONNECTR_URL)')
    .addHelpText(
      'after',
      `
The link signs in once, within a minute. Docs: docs/console.md`,
    )
    .action(async (flags: ConsoleFlags, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./console.js')).serveConsole(ctx, flags));
    });

  serve
    .command('rotate-key')
    .description('re-encrypt every stored secret with the current CONNECTR_ENCRYPTION_KEY')
    .action(async (_opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./rotate-key.js')).rotateKey(ctx));
    });
}
