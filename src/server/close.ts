import type { App } from './types.js';

/**
 * Stops `app` the graceful way: no new connections, requests in flight finish (answered with
 * `Connection: close`, see app.ts). Those still running after `timeoutMs` have their
 * connections closed, after `onDeadline` is told, so a stuck upstream call cannot hold the
 * shutdown forever. Resolves when the server is closed.
 */
export async function closeGracefully(app: App, timeoutMs: number, onDeadline: () => void): Promise<void> {
  const deadline = setTimeout(() => {
    onDeadline();
    app.server.closeAllConnections();
  }, timeoutMs);
  try {
    await app.close();
  } finally {
    clearTimeout(deadline);
  }
}
