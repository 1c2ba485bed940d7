import { MetadataStore } from '../../../core/credentials/metadata.js';
import { shellWord } from '../../../core/shell.js';
import { unknownName } from '../../../core/suggest.js';
import type { CliContext } from '../../context.js';

export async function setDefaultAccount(ctx: CliContext, connector: string, account: string): Promise<void> {
  (await ctx.registry()).require(connector);
  const metadata = new MetadataStore(ctx.paths);
  const accounts = await metadata.accounts(connector);
  if (!accounts.some((a) => a.account === account)) {
    const known = accounts.map((a) => a.account);
    throw unknownName(
      `no ${connector} account named "${account}"`,
      account,
      known,
      known.length ? '' : `Sign in first: \`connectr auth ${connector} --account ${shellWord(account)}\`.`,
    );
  }
  await metadata.setDefault(connector, account);
  if (ctx.out.json) ctx.out.printJson({ connector, default: account });
  else ctx.out.info(`${ctx.out.style.green('✓')} ${connector} now uses account "${account}" by default.`);
}
