import type { ControlServer } from '../../../server/control/server.js';
import type { OpenedServerStore } from '../../../server/store/open.js';
import type { CliContext } from '../../context.js';
import { write } from '../../io.js';

/**
 * The daemon's control channel (src/server/control), opened by `connectr serve` on PGlite: the
 * key commands cannot open a database this process holds, so they ask it. On PostgreSQL every
 * process opens the database, and there is no channel.
 */
export async function openControlChannel(
  ctx: CliContext,
  store: OpenedServerStore,
  logError: (error: unknown) => void,
  /** Where browsers reach this server once it listens (`serve console`'s links); undefined before. */
  consoleBase: () => string | undefined = () => undefined,
): Promise<ControlServer | undefined> {
  if (store.backend !== 'pglite') return undefined;
  const [
    { controlSocket, SHORTER_PATH_HINT },
    { startControlServer },
    { guard },
    { consoleLinkUrl, mintConsoleLink },
  ] = await Promise.all([
    import('../../../server/control/socket-path.js'),
    import('../../../server/control/server.js'),
    import('../../../server/store/open.js'),
    import('../../../server/services/console.js'),
  ]);
  const socket = controlSocket(ctx.paths.dataDir);
  if (!socket.usable) {
    write(
      ctx.io.stderr,
      `connectr serve: warning: \`connectr serve keys\` cannot reach this server while it runs: ${socket.why}; ${SHORTER_PATH_HINT}`,
    );
    return undefined;
  }
  return startControlServer({
    path: socket.path,
    db: store.db,
    guard: (fn) => guard(store.database, fn),
    // A revoked key is refused from the next request: what this process's cache holds of it goes.
    effects: {
      revoked: (keyId) => store.caches.notices.changed({ cache: 'api_keys', key: keyId }),
    },
    consoleLink: async (project) => {
      const base = consoleBase();
      if (base === undefined) {
        const { ConnectrError } = await import('../../../core/errors.js');
        throw new ConnectrError('unavailable', 'the server is still starting', {
          hint: 'try again in a moment',
        });
      }
      const token = await mintConsoleLink(store.db, project, new Date());
      return consoleLinkUrl(base, token);
    },
    logError,
  });
}
