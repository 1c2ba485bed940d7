import { ConnectrError } from '../../../core/errors.js';
import type { CliContext } from '../../context.js';

/**
 * `connectr serve console`: the admin console, signed in, in one step on the server's machine.
 * The running daemon mints a one-time sign-in link (a minute, used once) over its control
 * socket, as `serve keys` reaches it, and the browser opens it; `--no-open` prints it. On
 * PostgreSQL there is no socket: the link is written to the database, which every instance
 * reads, and the server's address comes from --server (or CONNECTR_URL).
 */

export interface ConsoleFlags {
  project?: string | undefined;
  /** false with --no-open. */
  open?: boolean | undefined;
  server?: string | undefined;
}

export async function serveConsole(ctx: CliContext, flags: ConsoleFlags): Promise<void> {
  const url = await consoleLink(ctx, flags);
  if (flags.open === false) {
    ctx.out.line(url);
    ctx.out.info('Open it within a minute; it signs in once.');
    return;
  }
  const { browserOpener } = await import('../../browser.js');
  await browserOpener(ctx.settings, ctx.env)(url);
  ctx.out.info('Opened the console in your browser.');
}

async function consoleLink(ctx: CliContext, flags: ConsoleFlags): Promise<string> {
  const { serverSettings } = await import('../../../server/settings.js');
  const settings = serverSettings(ctx.env);
  const project = flags.project?.trim() || undefined;
  if (!settings.DATABASE_URL?.trim()) {
    const { controlSocket, SHORTER_PATH_HINT } = await import('../../../server/control/socket-path.js');
    const socket = controlSocket(ctx.paths.dataDir);
    if (!socket.usable) {
      throw new ConnectrError('unavailable', `cannot reach the running server: ${socket.why}`, {
        hint: SHORTER_PATH_HINT,
      });
    }
    const { askConsoleLink } = await import('../../../server/control/client.js');
    const daemon = await askConsoleLink(socket.path, project === undefined ? {} : { project });
    if (!daemon.reached) {
      throw new ConnectrError('unavailable', 'no `connectr serve` runs on this data directory', {
        hint: 'start it (`connectr serve`), then run `connectr serve console` again',
      });
    }
    return daemon.answer.url;
  }
  const base = (flags.server ?? ctx.settings.CONNECTR_URL ?? '').trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^/?#]+$/i.test(base)) {
    throw new ConnectrError('usage', 'on PostgreSQL, `serve console` needs the address of a running server', {
      hint: 'pass --server http://127.0.0.1:5000 (or set CONNECTR_URL)',
    });
  }
  const [{ openDatabase }, { guard }, { consoleLinkUrl, mintConsoleLink }] = await Promise.all([
    import('../../../server/store/db.js'),
    import('../../../server/store/open.js'),
    import('../../../server/services/console.js'),
  ]);
  const database = await openDatabase({ settings, dataDir: ctx.paths.dataDir });
  try {
    const token = await guard(database, () => mintConsoleLink(database.db, project, new Date()));
    return consoleLinkUrl(base, token);
  } finally {
    await database.close();
  }
}
