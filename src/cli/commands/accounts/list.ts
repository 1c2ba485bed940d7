import { tokenEnvName } from '../../../core/auth/env-credential.js';
import { MetadataStore } from '../../../core/credentials/metadata.js';
import type { AccountRecord } from '../../../core/credentials/metadata.js';
import type { CliContext } from '../../context.js';
import { table } from '../../output.js';
import { printedWithoutTable } from './rows.js';

interface Row extends Partial<AccountRecord> {
  connector: string;
  default: boolean;
  /** The environment variable whose token is used instead of the stored accounts. */
  overridden_by?: string;
  source: 'store' | 'environment';
}

export async function listAccounts(ctx: CliContext, connectorFilter: string | undefined): Promise<void> {
  const metadata = new MetadataStore(ctx.paths);
  if (connectorFilter !== undefined) (await ctx.registry()).require(connectorFilter);
  const records = await metadata.accounts(connectorFilter);
  const connectors = new Set(records.map((r) => r.connector));
  const rows: Row[] = [];
  for (const connector of [...connectors].sort()) {
    const defaultName = await metadata.defaultAccount(connector);
    const variable = tokenEnvName(connector);
    for (const r of records.filter((a) => a.connector === connector)) {
      rows.push({
        ...r,
        default: r.account === defaultName,
        source: 'store',
        ...(ctx.env[variable] ? { overridden_by: variable } : {}),
      });
    }
  }
  // Connectors that have a token in the environment, signed in or not.
  for (const c of (await ctx.registry()).connectors) {
    const variable = tokenEnvName(c.name);
    if (ctx.env[variable] && (connectorFilter === undefined || connectorFilter === c.name)) {
      rows.push({ connector: c.name, default: false, source: 'environment', overridden_by: variable });
    }
  }

  if (printedWithoutTable(ctx, rows)) return;
  const { out } = ctx;
  const now = Date.now();
  const stored = rows.filter((r) => r.source === 'store');
  if (stored.length) {
    out.line(
      table(
        stored,
        [
          { header: 'CONNECTOR', value: (r) => r.connector },
          { header: 'ACCOUNT', value: (r) => `${r.account ?? ''}${r.default ? ' *' : ''}` },
          { header: 'IDENTITY', value: (r) => r.identity ?? '-' },
          { header: 'EXPIRES', value: (r) => expiry(r, now) },
          { header: 'STORE', value: (r) => r.store ?? '-' },
          { header: 'SCOPES', value: (r) => (r.scopes?.length ? r.scopes.join(' ') : '-'), shrink: true },
        ],
        ctx.io.columns,
        out.style,
      ),
    );
    out.info(out.style.dim('* default account'));
  }
  for (const r of rows.filter((row) => row.source === 'environment')) {
    out.line(`${r.connector}: ${r.overridden_by ?? ''} is set; requests use it instead of stored accounts.`);
  }
}

function expiry(r: Row, now: number): string {
  if (r.auth_type && r.auth_type !== 'oauth2') return 'never';
  if (!r.expires_at) return 'unknown';
  const minutes = Math.round((Date.parse(r.expires_at) - now) / 60_000);
  if (minutes < 0) return `${-minutes} min ago (refreshes on use)`;
  if (minutes < 120) return `in ${minutes} min`;
  return `in ${Math.round(minutes / 60)} h`;
}
