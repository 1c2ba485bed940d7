import type { Connector } from '../../core/connector/model.js';
import type { Registry } from '../../core/connector/registry.js';
import { MetadataStore } from '../../core/credentials/metadata.js';
import { shellWord } from '../../core/shell.js';
import type { CliContext } from '../context.js';

/**
 * The version of a connector a call through an account uses: the one the account was made with
 * (its metadata's connector_version) while it is loaded, else the newest, saying so on stderr
 * with what mends it. Accounts older than versions, and calls with no account, use the newest.
 * The account list is read only where it can matter (a connector with a version other than a
 * lone 1), so the common call costs nothing more at start-up.
 */
export async function connectorForAccount(
  ctx: CliContext,
  registry: Registry,
  newest: Connector,
  accountName: string | undefined,
): Promise<Connector> {
  const versions = registry.versions(newest.name);
  if (versions.length === 1 && newest.version === 1) return newest;
  const metadata = new MetadataStore(ctx.paths);
  let made: number | undefined;
  let account: string | undefined;
  try {
    account = accountName ?? (await metadata.defaultAccount(newest.name));
    made = account === undefined ? undefined : (await metadata.find(newest.name, account))?.connector_version;
  } catch {
    // An unreadable account list is the credential step's to report, with its own hint.
    return newest;
  }
  if (made === undefined || made === newest.version || account === undefined) return newest;
  const pinned = registry.get(newest.name, made);
  if (pinned) return pinned;
  ctx.out.warn(
    `${newest.name} account "${account}" was made with version ${made}, which is no longer loaded; using version ${newest.version}`,
  );
  ctx.out.info(
    `hint: sign in again to move it to version ${newest.version} (\`connectr auth ${newest.name} --account ${shellWord(account)}\`), or restore ${newest.name}@${made}.yaml; \`connectr connectors diff\` shows what changed`,
  );
  return newest;
}

/** The value of --account among a command's own arguments (before any `--`), if given. */
export function accountFlag(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') return undefined;
    if (arg === '--account') return args[i + 1];
    if (arg.startsWith('--account=')) return arg.slice('--account='.length);
  }
  return undefined;
}
