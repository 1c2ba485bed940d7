import { text } from 'node:stream/consumers';
import { resolveClient, saveApp } from '../../../core/auth/client.js';
import { loginWithBrowser } from '../../../core/auth/login-browser.js';
import { loginWithClientCredentials } from '../../../core/auth/login-client-credentials.js';
import { loginWithDevice } from '../../../core/auth/login-device.js';
import { saveStaticCredentials } from '../../../core/auth/login-static.js';
import { oauth2Of } from '../../../core/auth/oauth2.js';
import type { LoginResult } from '../../../core/auth/save-login.js';
import { tokenEnvName } from '../../../core/auth/env-credential.js';
import type { Connector } from '../../../core/connector/model.js';
import { parseDuration } from '../../../core/duration.js';
import { ConnectrError } from '../../../core/errors.js';
import type { OAuthClient } from '../../../core/oauth/token-endpoint.js';
import type { CliAuth } from '../../auth-deps.js';
import { cliAuth, readLine } from '../../auth-deps.js';
import { browserOpener } from '../../browser.js';
import type { CliContext } from '../../context.js';

/** The flags of `connectr auth` (declared in register.ts). */
export interface AuthFlags {
  account?: string;
  scopes?: string[];
  port?: string;
  timeout: string;
  browser: boolean;
  device?: boolean;
  clientCredentials?: boolean;
  withToken?: boolean;
  /** false with --no-verify: store an API key or password without trying it on the API. */
  verify: boolean;
  username?: string;
  insecureStorage?: boolean;
}

export async function authLogin(ctx: CliContext, name: string, flags: AuthFlags): Promise<void> {
  const connector = (await ctx.registry()).require(name);
  const auth = cliAuth(ctx);
  const account = flags.account ?? 'default';
  const insecure = flags.insecureStorage === true;
  const staticOptions = { insecureStorage: insecure, verify: flags.verify };
  let result: LoginResult;
  switch (connector.auth.type) {
    case 'none':
      throw new ConnectrError('invalid_input', `${connector.displayName} needs no sign-in`, {
        hint: `call it directly: connectr call ${connector.name} <endpoint>`,
      });
    case 'api_key': {
      const key = await secretInput(
        ctx,
        auth,
        flags,
        `API key for ${connector.displayName}:`,
        connector.auth.env,
      );
      result = await saveStaticCredentials(connector, account, { api_key: key }, staticOptions, auth.deps);
      break;
    }
    case 'basic': {
      const username =
        flags.username ??
        (auth.prompter.interactive
          ? await auth.prompter.input(`User name for ${connector.displayName}:`)
          : undefined);
      if (!username) {
        throw new ConnectrError('invalid_input', 'no user name', { hint: 'pass --username' });
      }
      const password = await secretInput(
        ctx,
        auth,
        flags,
        `Password for ${username}:`,
        connector.auth.password_env,
      );
      result = await saveStaticCredentials(
        connector,
        account,
        { username, password },
        staticOptions,
        auth.deps,
      );
      break;
    }
    case 'oauth2':
      result = await oauthLogin(ctx, connector, auth, flags, account, insecure);
      break;
  }
  report(ctx, connector, result);
}

async function oauthLogin(
  ctx: CliContext,
  connector: Connector,
  auth: CliAuth,
  flags: AuthFlags,
  account: string,
  insecure: boolean,
): Promise<LoginResult> {
  if (flags.withToken) {
    throw new ConnectrError('usage', '--with-token is for API keys and passwords', {
      hint: `for an OAuth access token you already have, set ${tokenEnvName(connector.name)}`,
    });
  }
  const oauth = oauth2Of(connector);
  const scopes = flags.scopes ?? oauth.scopes;
  // Flags first: nothing is asked or opened for a command that cannot run.
  const port = flags.port === undefined ? undefined : parsePort(flags.port);
  const timeoutMs = parseDuration(flags.timeout, '--timeout');
  const client = await resolveClient(
    connector,
    oauth,
    auth.deps,
    auth.prompter.interactive ? () => askClient(ctx, connector, auth, insecure) : undefined,
  );
  const common = { account, scopes, insecureStorage: insecure, signal: ctx.signal };
  if (
    flags.clientCredentials ||
    (!oauth.grants.includes('authorization_code') && !oauth.grants.includes('device_code'))
  ) {
    if (!oauth.grants.includes('client_credentials')) {
      throw new ConnectrError(
        'invalid_input',
        `${connector.displayName} does not offer the client credentials grant`,
      );
    }
    return loginWithClientCredentials(connector, client, common, auth.deps);
  }
  const openUrl = flags.browser ? browserOpener(ctx.settings, ctx.env) : undefined;
  if (flags.device || !oauth.grants.includes('authorization_code')) {
    return loginWithDevice(connector, client, { ...common, openUrl }, auth.deps);
  }
  return loginWithBrowser(
    connector,
    client,
    {
      ...common,
      port,
      timeoutMs,
      openUrl,
      pastedUrl: flags.browser ? undefined : readLine(ctx),
    },
    auth.deps,
  );
}

/** Asks for the OAuth app at the terminal and offers to save it for next time. */
async function askClient(
  ctx: CliContext,
  connector: Connector,
  auth: CliAuth,
  insecure: boolean,
): Promise<OAuthClient> {
  const oauth = oauth2Of(connector);
  ctx.out.info(
    `connectr needs an OAuth app (client) for ${connector.displayName}. Register one at ${oauth.app_registration_url ?? connector.docsUrl} (docs/auth.md has the steps), or set ${oauth.client_id_env}.`,
  );
  const clientId = (await auth.prompter.input('Client ID:')).trim();
  const clientSecret =
    oauth.client_secret === 'none'
      ? undefined
      : (await auth.prompter.secret(
          `Client secret${oauth.client_secret === 'optional' ? ' (empty if none)' : ''}:`,
          {
            required: oauth.client_secret === 'required',
          },
        )) || undefined;
  const client = { clientId, clientSecret };
  if (await auth.prompter.confirm(`Save this app for ${connector.name}?`, true)) {
    const notice = await saveApp(connector, client, auth.deps, insecure);
    if (notice) ctx.out.warn(notice);
  }
  return client;
}

async function secretInput(
  ctx: CliContext,
  auth: CliAuth,
  flags: AuthFlags,
  question: string,
  envName: string,
): Promise<string> {
  if (flags.withToken) {
    const value = (await text(ctx.io.stdin)).trim();
    if (!value) throw new ConnectrError('invalid_input', '--with-token read nothing from stdin');
    return value;
  }
  if (auth.prompter.interactive) return auth.prompter.secret(question);
  throw new ConnectrError('invalid_input', 'no secret given and no terminal to ask for it', {
    hint: `pipe it in with --with-token, or set ${envName} instead of signing in`,
  });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConnectrError('invalid_input', `--port "${value}" is not a port number (1-65535)`);
  }
  return port;
}

function report(ctx: CliContext, connector: Connector, result: LoginResult): void {
  const { record, store, notice } = result;
  if (notice) ctx.out.warn(notice);
  if (ctx.out.json) {
    ctx.out.printJson({ ...record, store_location: store.location });
    return;
  }
  const who = record.identity ? ` as ${record.identity}` : '';
  ctx.out.info(
    `${ctx.out.style.green('✓')} Signed in to ${connector.displayName}${who} (account "${record.account}"). Secrets are in the ${store.location}.`,
  );
}
