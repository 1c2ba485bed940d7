import type { Command } from 'commander';
import type { Runner } from '../../runner.js';

export function registerVault(program: Command, runner: Runner): void {
  const vault = program.command('vault').description('where connectr keeps secrets');
  vault
    .command('status', { isDefault: true })
    .description('say which secret store is in use: the system keychain, the encrypted file, or plaintext')
    .action(async (_opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./status.js')).vaultStatus(ctx));
    });
}
