import { resolveClient } from '../../../core/auth/client.js';
import { accountTokens } from '../../../core/auth/export.js';
import { oauth2Of } from '../../../core/auth/oauth2.js';
import { ConnectrError, isConnectrError, messageOf } from '../../../core/errors.js';
import { cliAuth } from '../../auth-deps.js';
import type { CliContext } from '../../context.js';
import { allowShutdownGrace } from '../../shutdown.js';
import { daemonOf } from '../../daemon.js';
import type { Daemon } from '../../daemon.js';

/** The flags of `connectr connections push` (declared in register.ts). */
export interface PushFlags {
  readonly account?: string | undefined;
  readonly server?: string | undefined;
  readonly apiKey?: string | undefined;
  readonly name?: string | undefined;
  readonly userId?: string | undefined;
  readonly withApp?: boolean | undefined;
}

/** The fields of the daemon's connection this command reads (routes/connections/shape.ts). */
interface PushedConnection {
  readonly id: string;
  readonly name: string;
  readonly [field: string]: unknown;
}

/**
 * `connectr connections push <connector>`: moves a locally signed-in OAuth account to a
 * `connectr serve` daemon. The account's tokens (refreshed first when about to expire) become
 * a new connection there: POST /connections, then PUT /connections/{id}/credentials with the
 * token set; `--with-app` first saves the local OAuth app as the project's (PUT /oauth-apps),
 * so the daemon can refresh. A connection whose tokens could not be stored is deleted again.
 */
export async function pushConnection(ctx: CliContext, name: string, flags: PushFlags): Promise<void> {
  const daemon = daemonOf(ctx, flags);
  // After Ctrl-C the push may still read the create's answer and delete what it created.
  allowShutdownGrace(3 * CLEANUP_MS);

  const connector = (await ctx.registry()).require(name);
  const auth = oauth2Of(connector);
  const { deps } = cliAuth(ctx);
  const tokens = await accountTokens(connector, flags.account, deps);
  const { record } = tokens;
  let app: { clientId: string; hasSecret: boolean } | undefined;
  if (flags.withApp) {
    const client = await resolveClient(connector, auth, deps);
    if (record.client_id !== undefined && record.client_id !== client.clientId) {
      throw new ConnectrError(
        'invalid_input',
        `${connector.name} account "${record.account}" was signed in with another OAuth app (client id ${record.client_id}) than the local one (${client.clientId})`,
        {
          hint: 'the daemon could not refresh its tokens with that app: sign in again with the app you push, or push without --with-app',
        },
      );
    }
    await daemon.request('PUT', `/api/v1/oauth-apps/${encodeURIComponent(connector.name)}`, {
      client_id: client.clientId,
      ...(client.clientSecret === undefined ? {} : { client_secret: client.clientSecret }),
    });
    app = { clientId: client.clientId, hasSecret: client.clientSecret !== undefined };
  }

  const userId = flags.userId ?? record.identity;
  // Ctrl-C does not cut the create short: its answer names the connection to delete again.
  const created = connectionOf(
    await daemon.request(
      'POST',
      '/api/v1/connections',
      {
        connector_type: connector.name,
        name: flags.name ?? record.account,
        ...(userId === undefined ? {} : { user_id: userId }),
      },
      abortedLater(ctx.signal, CLEANUP_MS),
    ),
    daemon,
  );
  let connection: PushedConnection;
  try {
    ctx.signal.throwIfAborted();
    connection = connectionOf(
      await daemon.request('PUT', `/api/v1/connections/${encodeURIComponent(created.id)}/credentials`, {
        access_token: tokens.accessToken,
        token_type: tokens.tokenType,
        ...(tokens.refreshToken === undefined ? {} : { refresh_token: tokens.refreshToken }),
        ...(record.expires_at === undefined ? {} : { expires_at: record.expires_at }),
        scopes: record.scopes,
        ...(record.identity === undefined ? {} : { account: record.identity }),
      }),
      daemon,
    );
  } catch (error) {
    throw await undo(daemon, created.id, error);
  }

  if (ctx.out.json) {
    ctx.out.printJson(connection);
    return;
  }
  ctx.out.info(
    `${ctx.out.style.green('✓')} Pushed ${connector.name} account "${record.account}"${record.identity ? ` (${record.identity})` : ''} to ${daemon.base}${app ? `, with its OAuth app (client id ${app.clientId}${app.hasSecret ? ', secret' : ''})` : ''}.`,
  );
  for (const key of ['id', 'connector_type', 'name', 'user_id', 'status', 'account_identity', 'scopes'])
    ctx.out.line(`${`${key}:`.padEnd(17)} ${shown(connection[key])}`);
  if (!app && tokens.refreshToken !== undefined)
    ctx.out.info(
      `The daemon refreshes the token with the project's OAuth app for ${connector.name}, or its ${auth.client_id_env}: push it with --with-app if it has neither.`,
    );
}

/**
 * How long, after Ctrl-C, the push waits for the create's answer, and then for the delete of
 * the connection it created: two requests to a daemon that answers in milliseconds.
 */
const CLEANUP_MS = 4000;

/** A signal that aborts `ms` after `signal` does, to bound work that must outlive Ctrl-C. */
function abortedLater(signal: AbortSignal, ms: number): AbortSignal {
  const later = new AbortController();
  const abort = (): void => {
    setTimeout(() => {
      later.abort(signal.reason);
    }, ms).unref();
  };
  if (signal.aborted) abort();
  else signal.addEventListener('abort', abort, { once: true });
  return later.signal;
}

/**
 * Deletes the connection this push created, and says so in the error that made it necessary:
 * on any failure of the second request, Ctrl-C included (the delete then has its own time limit).
 */
async function undo(daemon: Daemon, id: string, error: unknown): Promise<unknown> {
  const failure = isConnectrError(error)
    ? error
    : new ConnectrError('internal', messageOf(error), { cause: error });
  let outcome: string;
  try {
    await daemon.request(
      'DELETE',
      `/api/v1/connections/${encodeURIComponent(id)}`,
      undefined,
      AbortSignal.timeout(CLEANUP_MS),
    );
    outcome = `the tokens were not stored, so connection ${id}, created for them, was deleted again`;
  } catch (deleteError) {
    outcome = `the tokens were not stored, and connection ${id}, created for them, could not be deleted (${messageOf(deleteError)}): delete it with DELETE /api/v1/connections/${id}`;
  }
  return new ConnectrError(failure.code, failure.message, {
    details: [...failure.details, outcome],
    ...(failure.hint === undefined ? {} : { hint: failure.hint }),
    cause: failure,
  });
}

function connectionOf(json: unknown, daemon: Daemon): PushedConnection {
  if (
    typeof json === 'object' &&
    json !== null &&
    'id' in json &&
    typeof json.id === 'string' &&
    'name' in json &&
    typeof json.name === 'string'
  )
    return { ...json, id: json.id, name: json.name };
  throw new ConnectrError('upstream', `${daemon.base} did not answer with a connection`, {
    hint: 'check --server (or CONNECTR_URL): it must be the address of `connectr serve`',
  });
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.map(shown).join(' ');
  return typeof value === 'string' ? value : JSON.stringify(value);
}
