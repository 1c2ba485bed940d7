import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServerStore } from '../../src/server/store/open.js';
import { memorySecrets, newKey } from '../helpers/server-store.js';

/**
 * One migrated PGlite data directory for the whole run, which test/helpers/server-store.ts
 * copies for each fresh PGlite backend (CONNECTR_TEST_PGLITE_TEMPLATE): creating a PGlite
 * database (its initdb, in WebAssembly) and migrating it took about 2.5 s of CPU each time,
 * copying the result a tenth of that. It holds the schema only: the key of a server is kept
 * outside it (the credential store, or CONNECTR_ENCRYPTION_KEY), so a copy is a new database.
 */
export default async function setup(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'connectr-pglite-template-'));
  const store = await openServerStore({
    env: { CONNECTR_HOME: dir, CONNECTR_ENCRYPTION_KEY: newKey() },
    dataDir: dir,
    secrets: memorySecrets(),
  });
  await store.close();
  process.env.CONNECTR_TEST_PGLITE_TEMPLATE = join(dir, 'server', 'pglite');
  return () => {
    delete process.env.CONNECTR_TEST_PGLITE_TEMPLATE;
    rmSync(dir, { recursive: true, force: true });
  };
}
