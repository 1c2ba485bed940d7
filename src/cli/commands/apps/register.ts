import type { Command } from 'commander';
import type { Runner } from '../../runner.js';
import type { AppsSetFlags } from './apps.js';

/** `connectr apps set|list|remove`: the OAuth clients connectr signs in with. */
export function registerApps(program: Command, runner: Runner): void {
  const apps = program
    .command('apps')
    .description('save the OAuth app (client id and secret) used to sign in to a connector');
  apps
    .command('set')
    .description('save an OAuth app for a connector: the id in metadata, the secret in the keychain')
    .argument('<connector>', 'connector name')
    .option('--client-id <id>', 'the client id (asked for when omitted at a terminal)')
    .option('--client-secret-stdin', 'read the client secret from stdin')
    .option('--insecure-storage', 'store the secret unencrypted when no keychain or passphrase can be used')
    .addHelpText(
      'after',
      '\nExamples:\n  connectr apps set gmail\n  printf %s "$SECRET" | connectr apps set gmail --client-id 123.apps.googleusercontent.com --client-secret-stdin',
    )
    .action(async (connector: string, flags: AppsSetFlags, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./apps.js')).setApp(ctx, connector, flags));
    });
  apps
    .command('list', { isDefault: true })
    .description('list saved apps (the default subcommand)')
    .action(async (_opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./apps.js')).listApps(ctx));
    });
  apps
    .command('remove')
    .description("forget a connector's saved app and delete its secret")
    .argument('<connector>', 'connector name')
    .action(async (connector: string, _opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./apps.js')).removeSavedApp(ctx, connector));
    });
}
