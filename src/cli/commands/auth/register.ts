import { Option } from 'commander';
import type { Command } from 'commander';
import type { Runner } from '../../runner.js';
import type { AuthFlags } from './login.js';

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value.split(/[\s,]+/).filter(Boolean),
];

/** `connectr auth`, `connectr token`, `connectr logout`. */
export function registerAuth(program: Command, runner: Runner): void {
  program
    .command('auth')
    .description('sign in to a connector and store its credentials (OAuth 2.0, API key or password)')
    .argument('<connector>', 'connector name, e.g. gmail')
    .option('--account <name>', 'name for this account, to keep several per connector', 'default')
    .option(
      '--scopes <scopes>',
      'scopes to request instead of the defaults (comma-separated or repeated)',
      collect,
    )
    .option('--port <port>', 'port of the local redirect server (when your app registered a fixed one)')
    .option('--timeout <duration>', 'how long to wait for the browser sign-in', '5m')
    .option(
      '--no-browser',
      'print the sign-in address instead of opening a browser, and accept the redirect address pasted back (SSH)',
    )
    .option('--device', 'sign in with a code on another device (device authorization grant)')
    .option('--client-credentials', 'get an app-only token with the client credentials grant')
    .option('--with-token', 'read the API key or password from stdin instead of asking')
    .option('--username <name>', 'user name, for connectors with HTTP basic auth')
    .option('--no-verify', 'store the API key or password without trying it on the API first (see below)')
    .addOption(
      new Option(
        '--insecure-storage',
        'store secrets unencrypted in a file (only when no keychain and no passphrase can be used)',
      ),
    )
    .addHelpText(
      'after',
      `
The OAuth client (app) comes from <CONNECTOR>_CLIENT_ID / <CONNECTOR>_CLIENT_SECRET, else from
\`connectr apps set <connector>\`, else you are asked for it. Tokens go to the system keychain,
else to an encrypted file (passphrase from CONNECTR_VAULT_PASSPHRASE or asked).

An API key or password is tried on the connector's identity endpoint, when it has one, before
it is stored: one the API refuses (401 or 403) is not stored (exit 3). Any other failure of that
call (network, 5xx) stores it with a note. --no-verify stores it without the call.

Examples:
  connectr auth gmail
  connectr auth dropbox --account work
  connectr auth onedrive --device
  ssh box connectr auth gmail --no-browser
  echo "$KEY" | connectr auth myapi --with-token

Docs: docs/auth.md`,
    )
    .action(async (connector: string, flags: AuthFlags, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./login.js')).authLogin(ctx, connector, flags));
    });

  program
    .command('token')
    .description('print a valid access token (refreshed if needed) for scripts')
    .argument('<connector>', 'connector name')
    .option('--account <name>', 'which account (default: the default account)')
    .addHelpText(
      'after',
      '\nExample:\n  curl -H "Authorization: Bearer $(connectr token gmail)" https://gmail.googleapis.com/gmail/v1/users/me/profile',
    )
    .action(async (connector: string, flags: { account?: string }, cmd: Command) => {
      await runner(cmd, async (ctx) =>
        (await import('./token.js')).printToken(ctx, connector, flags.account),
      );
    });

  program
    .command('logout')
    .description('revoke an account at the provider (when it offers revocation) and delete its local secrets')
    .argument('<connector>', 'connector name')
    .option('--account <name>', 'which account (default: the default account)')
    .action(async (connector: string, flags: { account?: string }, cmd: Command) => {
      await runner(cmd, async (ctx) =>
        (await import('./logout.js')).authLogout(ctx, connector, flags.account),
      );
    });
}
