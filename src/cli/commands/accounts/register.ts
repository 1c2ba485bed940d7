import type { Command } from 'commander';
import type { Runner } from '../../runner.js';

/** `connectr accounts [list]`, `connectr accounts check [connector]`, `connectr accounts default <connector> <account>`. */
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
    .command('check')
    .description(
      "check that signed-in accounts still work: refresh a token that is due, call the connector's health endpoint",
    )
    .argument('[connector]', 'only this connector')
    .addHelpText(
      'after',
      `
Each account is reported ok, "sign in again" (the provider refused its token or its refresh:
run the connectr auth command shown), or "could not check" (the network, a time-out, a 5xx).
With --json: [{connector, account, result: ok|needs_sign_in|unknown, error?: {code, message}, fix?}].
Exit code 0 when every account is ok, 3 when any must sign in again, else 5 when any could not
be checked.`,
    )
    .action(async (connector: string | undefined, _opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./check.js')).checkAccounts(ctx, connector));
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
