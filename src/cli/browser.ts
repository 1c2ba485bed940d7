import { spawn } from 'node:child_process';
import type { Env } from '../core/paths.js';
import type { CoreSettings } from '../core/settings/core.js';

/**
 * Opens a URL in the user's browser. CONNECTR_BROWSER (or BROWSER) names a command to use
 * instead of the system default, as GH_BROWSER does for the GitHub CLI: the URL is passed as
 * its last argument, never through a shell.
 */
export function browserOpener(
  settings: Pick<CoreSettings, 'CONNECTR_BROWSER' | 'BROWSER'>,
  env: Env,
): (url: string) => Promise<void> {
  const command = (settings.CONNECTR_BROWSER ?? settings.BROWSER ?? '').trim();
  if (command) {
    const [program = '', ...args] = command.split(/\s+/);
    return (url) =>
      new Promise((resolve, reject) => {
        const child = spawn(program, [...args, url], {
          stdio: 'ignore',
          detached: true,
          env: { ...process.env, ...env },
        });
        child.once('error', reject);
        child.once('spawn', () => {
          child.unref();
          resolve();
        });
      });
  }
  return async (url) => {
    const { default: open } = await import('open');
    const child = await open(url, { wait: false });
    child.unref();
  };
}
