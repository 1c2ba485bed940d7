import { ConnectrError } from '../../../core/errors.js';
import type { ApiKeyScope } from '../../../server/contracts.js';
import type { KeyAnswers, KeyOp, KeyRequestOf } from '../../../server/control/protocol.js';
import type { CliContext } from '../../context.js';
import { table } from '../../output.js';

/**
 * `connectr serve keys create|list|revoke`: API keys. Keys are hashed, so none needs the
 * encryption key, and a created key is printed once: nothing can show it again. With
 * PostgreSQL the command works on the database, servers running or not. With PGlite, which one
 * process at a time may open, a running `connectr serve` is asked over its control socket
 * (src/server/control); with none running, the command opens the database itself.
 */

export interface CreateKeyFlags {
  name: string;
  project?: string | undefined;
  allowToken?: boolean | undefined;
  scope?: ApiKeyScope | undefined;
}

async function keyRequest<Op extends KeyOp>(
  ctx: CliContext,
  request: KeyRequestOf<Op>,
): Promise<KeyAnswers[Op]> {
  // The daemon's bounds (protocol.ts) hold on the database too: one answer either way.
  const { keyRequestSchema } = await import('../../../server/control/protocol.js');
  const checked = keyRequestSchema.safeParse(request);
  if (!checked.success) {
    throw new ConnectrError('invalid_input', 'this key request is not valid', {
      details: checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    });
  }
  const { serverSettings } = await import('../../../server/settings.js');
  const settings = serverSettings(ctx.env);
  const postgres = Boolean(settings.DATABASE_URL?.trim());
  const { controlSocket, SHORTER_PATH_HINT } = await import('../../../server/control/socket-path.js');
  const socket = controlSocket(ctx.paths.dataDir);
  if (!postgres && socket.usable) {
    const { askDaemon } = await import('../../../server/control/client.js');
    const daemon = await askDaemon(socket.path, request);
    if (daemon.reached) return daemon.answer;
  }
  const [{ openDatabase }, { guard }, { runKeyRequest }, { InstanceBusyError }, { announce }] =
    await Promise.all([
      import('../../../server/store/db.js'),
      import('../../../server/store/open.js'),
      import('../../../server/control/key-operations.js'),
      import('../../../server/store/instance-lock.js'),
      import('../../../server/store/notify.js'),
    ]);
  let database;
  try {
    database = await openDatabase({ settings, dataDir: ctx.paths.dataDir });
  } catch (error) {
    if (!(error instanceof InstanceBusyError)) throw error;
    // Held, yet nobody answered on the socket.
    throw new ConnectrError('unavailable', error.message, {
      hint: socket.usable
        ? 'the server may still be starting (try again in a moment), or be an older connectr without the key channel (stop it first)'
        : `the server cannot take key commands while it runs: ${socket.why}; ${SHORTER_PATH_HINT}`,
      cause: error,
    });
  }
  try {
    // The servers running on this PostgreSQL refuse a revoked key from their next request.
    const opened = database;
    const revoked = (keyId: string): Promise<void> => announce(opened, { cache: 'api_keys', key: keyId });
    return await guard(opened, () => runKeyRequest(opened.db, request, { revoked }));
  } finally {
    await database.close();
  }
}

export async function createKey(ctx: CliContext, flags: CreateKeyFlags): Promise<void> {
  const { created_project: createdProject, ...key } = await keyRequest(ctx, {
    op: 'create',
    name: flags.name,
    ...(flags.project === undefined ? {} : { project: flags.project }),
    ...(flags.allowToken === true ? { allow_token: true } : {}),
    // Sent only when not the default, so an older daemon still takes ordinary key requests.
    ...(flags.scope === undefined || flags.scope === 'project' ? {} : { scope: flags.scope }),
  });
  if (createdProject) ctx.out.info(`Created project ${key.project}.`);
  if (ctx.out.json) {
    ctx.out.printJson(key);
    return;
  }
  ctx.out.info(
    key.scope === 'metrics'
      ? `${ctx.out.style.green('✓')} Created metrics key "${key.name}" (${key.id}, prefix ${key.prefix}): it reads GET /metrics and nothing else (listed under project ${key.project}).`
      : `${ctx.out.style.green('✓')} Created API key "${key.name}" (${key.id}, prefix ${key.prefix}) in project ${key.project}${key.allow_token ? ', allowed to read access tokens' : ''}.`,
  );
  ctx.out.line(key.key);
  ctx.out.info('It is shown only now: store it safely. Send it as `Authorization: Bearer <key>`.');
}

export async function listKeys(ctx: CliContext, flags: { project?: string | undefined }): Promise<void> {
  const keys = await keyRequest(ctx, {
    op: 'list',
    ...(flags.project === undefined ? {} : { project: flags.project }),
  });
  if (ctx.out.json) {
    ctx.out.printJson(keys);
    return;
  }
  if (keys.length === 0) {
    ctx.out.info('No API keys. Create one with `connectr serve keys create --name <name>`.');
    return;
  }
  const day = (d: string | null): string => (d ? d.slice(0, 16).replace('T', ' ') : '-');
  ctx.out.line(
    table(
      keys,
      [
        { header: 'ID', value: (k) => k.id },
        { header: 'PREFIX', value: (k) => k.prefix },
        { header: 'NAME', value: (k) => k.name, shrink: true },
        { header: 'PROJECT', value: (k) => k.project },
        { header: 'SCOPE', value: (k) => k.scope },
        { header: 'TOKEN', value: (k) => (k.allow_token ? 'yes' : 'no') },
        { header: 'CREATED', value: (k) => day(k.created_at) },
        { header: 'LAST USED', value: (k) => day(k.last_used_at) },
        { header: 'REVOKED', value: (k) => day(k.revoked_at) },
      ],
      ctx.io.columns,
      ctx.out.style,
    ),
  );
}

export async function revokeKey(ctx: CliContext, idOrPrefix: string): Promise<void> {
  const key = await keyRequest(ctx, { op: 'revoke', id_or_prefix: idOrPrefix });
  if (ctx.out.json) {
    ctx.out.printJson(key);
    return;
  }
  ctx.out.info(
    key.already_revoked
      ? `API key "${key.name}" (${key.prefix}) was already revoked.`
      : `${ctx.out.style.green('✓')} Revoked API key "${key.name}" (${key.prefix}); requests with it now get 401.`,
  );
}
