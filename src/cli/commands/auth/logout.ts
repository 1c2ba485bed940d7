import { logout } from '../../../core/auth/logout.js';
import { cliAuth } from '../../auth-deps.js';
import type { CliContext } from '../../context.js';

export async function authLogout(ctx: CliContext, name: string, account: string | undefined): Promise<void> {
  const connector = (await ctx.registry()).require(name);
  const result = await logout(connector, account, cliAuth(ctx).deps);
  const { out } = ctx;
  const revoked = result.revocation === 'revoked';
  const failure = typeof result.revocation === 'object' ? result.revocation.failed : undefined;
  if (failure) {
    out.warn(
      `could not revoke the sign-in at ${connector.displayName} (${failure}); revoke the app's access in your account settings`,
    );
  }
  if (out.json) {
    out.printJson({
      connector: connector.name,
      account: result.account.account,
      revoked,
      revocation: typeof result.revocation === 'string' ? result.revocation : 'failed',
      ...(failure ? { revocation_error: failure } : {}),
    });
    return;
  }
  const how = revoked
    ? 'revoked at the provider and deleted locally'
    : result.revocation === 'unsupported'
      ? `deleted locally (${connector.displayName} offers no token revocation)`
      : 'deleted locally';
  out.info(
    `${out.style.green('✓')} Signed out of ${connector.displayName} account "${result.account.account}": ${how}.`,
  );
}
