import { getCredential } from '../../../core/auth/tokens.js';
import { ConnectrError } from '../../../core/errors.js';
import { cliAuth } from '../../auth-deps.js';
import type { CliContext } from '../../context.js';

/** Prints a valid token, and nothing else, for `$(connectr token gmail)`. */
export async function printToken(ctx: CliContext, name: string, account: string | undefined): Promise<void> {
  const connector = (await ctx.registry()).require(name);
  const { credential } = await getCredential(connector, account, cliAuth(ctx).deps);
  switch (credential.kind) {
    case 'bearer':
      ctx.io.stdout.write(`${credential.token}\n`);
      return;
    case 'api_key':
      ctx.io.stdout.write(`${credential.key}\n`);
      return;
    case 'basic':
      throw new ConnectrError(
        'invalid_input',
        `${connector.name} uses a user name and password, not a token`,
      );
    case 'none':
      throw new ConnectrError('invalid_input', `${connector.name} needs no credentials`);
  }
}
