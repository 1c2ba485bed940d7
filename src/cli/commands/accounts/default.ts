import { MetadataStore } from '../../../core/credentials/metadata.js';
import { ConnectrError } from '../../../core/errors.js';
import type { CliContext } from '../../context.js';

export async function setDefaultAccount(ctx: CliContext, connector: string, account: string): Promise<void> {
  (await ctx.registry()).require(connector);
  const metadata = new MetadataStore(ctx.paths);
  const accounts = await metadata.accounts(connector);
  if (!accounts.some((a) => a.account === account)) {
    throw new ConnectrError('not_found', `no ${connector} account named "${account}"`, {
      hint: accounts.length
        ? `known: ${accounts.map((a) => a.account).join(', ')}`
        : `sign in first: connectr auth ${connector} --account ${account}`,
    });
  }
  await metadata.setDefault(connector, account);
  if (ctx.out.json) ctx.out.printJson({ connector, default: account });
  else ctx.out.info(`${ctx.out.style.green('✓')} ${connector} now uses account "${account}" by default.`);
}
