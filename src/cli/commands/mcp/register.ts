import type { Command } from 'commander';
import type { Runner } from '../../runner.js';
import { collect } from '../../repeatable.js';

export interface McpFlags {
  readonly connector?: readonly string[];
  readonly account?: readonly string[];
  readonly readOnly?: boolean;
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

const ABOUT = `
Every endpoint of the connectors you have signed in to becomes a tool named
<connector>_<endpoint> (gmail_list_messages), for an AI agent or editor that starts
connectr as an MCP server on stdio. The agent never sees a token. The encrypted file store's
passphrase, if your accounts are there, comes from CONNECTR_VAULT_PASSPHRASE.

Examples:
  connectr mcp                                  # every signed-in connector
  connectr mcp --connector gmail --read-only    # Gmail, reading only
  connectr mcp --deny '*_delete_*' --account gmail=work

Configuration snippets for desktop agents and editors: docs/mcp.md.`;

export function registerMcp(program: Command, runner: Runner): void {
  program
    .command('mcp')
    .description('serve connector endpoints as MCP tools on stdio, for AI agents and editors')
    .option(
      '--connector <name>',
      'only this connector (repeat for more); default: every signed-in one',
      collect,
    )
    .option(
      '--account <connector=account>',
      'call a connector as this account instead of its default (repeatable)',
      collect,
    )
    .option('--read-only', 'offer only GET and HEAD endpoints')
    .option('--allow <glob>', "offer only tools whose name matches (repeatable), e.g. 'gmail_*'", collect)
    .option('--deny <glob>', "leave out tools whose name matches (repeatable), e.g. '*_delete_*'", collect)
    .addHelpText('after', ABOUT)
    .action(async (flags: McpFlags, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./mcp.js')).runMcp(ctx, flags));
    });
}
