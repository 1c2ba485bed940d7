import type { Command } from 'commander';
import type { Runner } from '../../runner.js';
import type { PushFlags } from './push.js';

/** `connectr connections push`: the CLI's side of a `connectr serve` daemon's connections. */
export function registerConnections(program: Command, runner: Runner): void {
  const connections = program
    .command('connections')
    .description("work with a connectr serve daemon's connections");
  connections
    .command('push')
    .description('move a signed-in OAuth account to a connectr serve daemon, as a new connection')
    .argument('<connector>', 'connector name')
    .option('--account <name>', 'which account (default: the default account)')
    .option('--server <url>', 'the daemon, e.g. http://127.0.0.1:5000 (default: CONNECTR_URL)')
    .option(
      '--api-key <key>',
      'an API key of the daemon (default: CONNECTR_API_KEY, which keeps it out of ps)',
    )
    .option('--name <name>', "the connection's name (default: the account's name)")
    .option('--user-id <id>', "your end user the connection belongs to (default: the account's identity)")
    .option(
      '--with-app',
      "also save the local OAuth app (connectr apps) as the project's, so the daemon can refresh",
    )
    .addHelpText(
      'after',
      `
Examples:
  export CONNECTR_URL=http://127.0.0.1:5000 CONNECTR_API_KEY=...   # from connectr serve keys create
  connectr connections push gmail
  connectr connections push gmail --account work --name "Work mail" --user-id user-42 --with-app
Docs: docs/server.md (Moving a signed-in account to the daemon)`,
    )
    .action(async (connector: string, flags: PushFlags, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./push.js')).pushConnection(ctx, connector, flags));
    });
}
