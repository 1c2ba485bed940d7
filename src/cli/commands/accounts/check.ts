import { localCallDeps } from '../../../core/calls/deps.js';
import { checkHealth } from '../../../core/calls/health.js';
import type { HealthErrorCode } from '../../../core/calls/health.js';
import { MetadataStore } from '../../../core/credentials/metadata.js';
import { ConnectrError } from '../../../core/errors.js';
import { cliAuth } from '../../auth-deps.js';
import type { CliContext } from '../../context.js';
import { table } from '../../output.js';
import { printedWithoutTable } from './rows.js';

/**
 * `connectr accounts check [connector]`: each stored account's credential tried the way the
 * daemon's health check tries a connection (core/calls/health.ts): refreshed under the account's
 * lock file when due or refused, then the connector's health endpoint called. Exit 3 when any
 * account needs `connectr auth` again, else 5 when any could not be checked.
 */

type Result = 'ok' | 'needs_sign_in' | 'unknown';

interface Row {
  connector: string;
  account: string;
  result: Result;
  /** Why, when not ok; in connectr's own words. */
  error?: { code: HealthErrorCode; message: string };
  /** The command that signs it in again. */
  fix?: string;
}

export async function checkAccounts(ctx: CliContext, connectorFilter: string | undefined): Promise<void> {
  const registry = await ctx.registry();
  if (connectorFilter !== undefined) registry.require(connectorFilter);
  const records = await new MetadataStore(ctx.paths).accounts(connectorFilter);
  const auth = cliAuth(ctx).deps;
  const rows: Row[] = [];
  for (const record of records) {
    const connector = registry.get(record.connector);
    if (!connector) continue;
    const outcome = await checkHealth(
      connector,
      localCallDeps(connector, record.account, auth, { signal: ctx.signal }),
      ctx.env,
    );
    const base = { connector: connector.name, account: record.account };
    if (outcome.kind === 'ok') rows.push({ ...base, result: 'ok' });
    else
      rows.push({
        ...base,
        result: outcome.kind === 'signed_out' ? 'needs_sign_in' : 'unknown',
        error: { code: outcome.code, message: outcome.message },
        ...(outcome.kind === 'signed_out'
          ? { fix: `connectr auth ${connector.name} --account ${record.account}` }
          : {}),
      });
  }
  print(ctx, rows);
  const signIn = rows.filter((r) => r.result === 'needs_sign_in');
  if (signIn.length > 0) {
    throw new ConnectrError(
      'auth_expired',
      `${signIn.length} of ${rows.length} account${rows.length === 1 ? '' : 's'} must be signed in again`,
      { hint: signIn.map((r) => r.fix).join('; ') },
    );
  }
  const unknown = rows.filter((r) => r.result === 'unknown').length;
  if (unknown > 0) {
    throw new ConnectrError(
      'unavailable',
      `${unknown} of ${rows.length} account${rows.length === 1 ? '' : 's'} could not be checked`,
      { hint: "check the network (or the provider's status page) and run `connectr accounts check` again" },
    );
  }
}

function print(ctx: CliContext, rows: readonly Row[]): void {
  if (printedWithoutTable(ctx, rows)) return;
  const { out } = ctx;
  out.line(
    table(
      rows,
      [
        { header: 'CONNECTOR', value: (r) => r.connector },
        { header: 'ACCOUNT', value: (r) => r.account },
        { header: 'RESULT', value: (r) => words(r) },
        { header: 'WHY', value: (r) => r.error?.message ?? '-', shrink: true },
      ],
      ctx.io.columns,
      out.style,
    ),
  );
}

function words(row: Row): string {
  switch (row.result) {
    case 'ok':
      return 'ok';
    case 'needs_sign_in':
      return `sign in again: ${row.fix ?? ''}`;
    case 'unknown':
      return 'could not check';
  }
}
