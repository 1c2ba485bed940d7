import { Argument, type Command } from 'commander';
import type { Runner } from '../../runner.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;

const INSTALL = `
Install (then open a new shell):
  bash:  echo 'source <(connectr completion bash)' >> ~/.bashrc
  zsh:   echo 'source <(connectr completion zsh)' >> ~/.zshrc   (after compinit)
  fish:  connectr completion fish > ~/.config/fish/completions/connectr.fish

Completes commands, flags, connector and endpoint names, an endpoint's flags and enum values,
file names and account names. Definitions are read into an index in the cache folder, rebuilt
when a definition file changes, so a completion does not start node (docs/cli.md#completion).`;

/**
 * `connectr completion bash|zsh|fish` prints the script; the hidden `connectr __complete index`
 * is what that script runs when its index is missing or older than a definition file.
 */
export function registerCompletion(program: Command, runner: Runner): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .addHelpText('after', INSTALL)
    .action(async (shell: (typeof SHELLS)[number], _opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => {
        const { completionScript } = await import('./scripts.js');
        ctx.io.stdout.write(completionScript(shell));
      });
    });
  program
    .command('__complete', { hidden: true })
    .description('write the completion index and print it (run by the completion scripts)')
    .argument('<what>', '"index"')
    .option('--key <key>', 'what the shell keys the index by (the connector directories in use)', '')
    .action(async (_what: string, opts: { key: string }, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./index-file.js')).completionIndex(ctx, opts.key));
    });
}
