import { text } from 'node:stream/consumers';
import { removeApp, saveApp } from '../../../core/auth/client.js';
import { oauth2Of } from '../../../core/auth/oauth2.js';
import { ConnectrError } from '../../../core/errors.js';
import { cliAuth } from '../../auth-deps.js';
import type { CliContext } from '../../context.js';
import { table } from '../../output.js';

/** The flags of `connectr apps set` (declared in register.ts). */
export interface AppsSetFlags {
  clientId?: string;
  clientSecretStdin?: boolean;
  insecureStorage?: boolean;
}

export async function setApp(ctx: CliContext, name: string, flags: AppsSetFlags): Promise<void> {
  const connector = (await ctx.registry()).require(name);
  const oauth = oauth2Of(connector);
  const { deps, prompter } = cliAuth(ctx);
  const clientId =
    flags.clientId ?? (prompter.interactive ? (await prompter.input('Client ID:')).trim() : undefined);
  if (!clientId) {
    throw new ConnectrError('invalid_input', 'no client id', { hint: 'pass --client-id' });
  }
  let clientSecret: string | undefined;
  if (flags.clientSecretStdin) clientSecret = (await text(ctx.io.stdin)).trim() || undefined;
  else if (prompter.interactive && oauth.client_secret !== 'none') {
    clientSecret =
      (await prompter.secret('Client secret (empty if none):', { required: false })) || undefined;
  }
  if (oauth.client_secret === 'required' && !clientSecret) {
    throw new ConnectrError('invalid_input', `${connector.displayName} apps need a client secret`, {
      hint: 'pass it on stdin with --client-secret-stdin',
    });
  }
  const notice = await saveApp(connector, { clientId, clientSecret }, deps, flags.insecureStorage === true);
  if (notice) ctx.out.warn(notice);
  if (ctx.out.json)
    ctx.out.printJson({
      connector: connector.name,
      client_id: clientId,
      secret_saved: Boolean(clientSecret),
    });
  else
    ctx.out.info(
      `${ctx.out.style.green('✓')} Saved the OAuth app for ${connector.displayName} (client id ${clientId}${clientSecret ? ', secret stored' : ''}).`,
    );
}

export async function listApps(ctx: CliContext): Promise<void> {
  const apps = Object.entries(await cliAuth(ctx).deps.metadata.apps()).map(([connector, app]) => ({
    connector,
    ...app,
  }));
  if (ctx.out.json) {
    ctx.out.printJson(apps);
    return;
  }
  if (apps.length === 0) {
    ctx.out.info(
      'No saved apps. Save one with `connectr apps set <connector>` (or use <CONNECTOR>_CLIENT_ID).',
    );
    return;
  }
  ctx.out.line(
    table(
      apps,
      [
        { header: 'CONNECTOR', value: (a) => a.connector },
        { header: 'CLIENT ID', value: (a) => a.client_id, shrink: true },
        { header: 'SECRET', value: (a) => a.secret_store ?? 'none' },
        { header: 'SAVED', value: (a) => a.saved_at.slice(0, 10) },
      ],
      ctx.io.columns,
      ctx.out.style,
    ),
  );
}

export async function removeSavedApp(ctx: CliContext, name: string): Promise<void> {
  if (!(await removeApp(name, cliAuth(ctx).deps))) {
    throw new ConnectrError('not_found', `no saved app for ${name}`, {
      hint: 'connectr apps list shows the saved ones',
    });
  }
  if (ctx.out.json) ctx.out.printJson({ connector: name, removed: true });
  else ctx.out.info(`${ctx.out.style.green('✓')} Removed the saved app for ${name}.`);
}
