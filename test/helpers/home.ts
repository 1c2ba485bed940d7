import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throw-away CONNECTR_HOME, so no test reads or writes the developer's real files. */
export function tempHome(): { dir: string; env: Record<string, string>; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'connectr-test-'));
  return {
    dir,
    env: {
      CONNECTR_HOME: dir,
      HOME: dir,
      PATH: process.env.PATH ?? '',
      // The private test keychain started by test/setup/keychain.ts.
      DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS ?? '',
    },
    cleanup: () => {
      // A process the test started (the scripted browser logging its last page) may still be
      // writing here: retry while a folder fills up under rmSync (ENOTEMPTY). On a loaded
      // machine that browser (a Node process of its own) may take seconds: Node waits 50 ms
      // longer before each retry, up to about 20 s in all, and only when the folder refills.
      rmSync(dir, { recursive: true, force: true, maxRetries: 28, retryDelay: 50 });
    },
  };
}
