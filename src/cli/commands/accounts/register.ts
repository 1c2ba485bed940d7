import type { Command } from 'commander';
import type { Runner } from '../../runner.js';

/** `connectr accounts [list]`, `connectr accounts default <connector> <account>`. */
export function registerAccounts(program: Command, runner: Runner): void {
  const accounts = program.command('accounts').description('list signed-in accounts and choose defaults');
  accounts
    .command('list', { isDefault: true })
    .description(
      'list accounts: connector, account, identity, scopes, expiry, store (the default subcommand)',
    )
    .argument('[connector]', 'only this connector')
    .action(async (connector: string | undefined, _opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./list.js')).listAccounts(ctx, connector));
    });
  accounts
    .command('default')
    .description('make an account the one used when --account is not given')
    .argument('<connector>', 'connector name')
    .argument('<account>', 'account name')
    .action(async (connector: string, account: string, _opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) =>
        (await import('./default.js')).setDefaultAccount(ctx, connector, account),
      );
    });
}
