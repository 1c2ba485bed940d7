import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConnectrError } from '../../src/core/errors.js';
import { createApiKey } from '../../src/server/store/api-keys.js';
import { openServerStore } from '../../src/server/store/open.js';
import { ensureProject } from '../../src/server/store/projects.js';
import { tempHome } from '../helpers/home.js';
import { memorySecrets, newKey } from '../helpers/server-store.js';

/**
 * The embedded database holds every project's tokens (encrypted) and API key hashes: its files
 * are the owner's alone, whatever the umask and whatever state a restored backup left the
 * folder in. PGlite itself writes its initial files 0666 and its folders by the umask.
 */

interface Entry {
  readonly path: string;
  readonly mode: number;
  readonly dir: boolean;
}

function walk(root: string): Entry[] {
  const out: Entry[] = [];
  const visit = (path: string): void => {
    const st = lstatSync(path);
    out.push({ path, mode: st.mode & 0o7777, dir: st.isDirectory() });
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
  return out;
}

const octal = (e: Entry): string => `${e.mode.toString(8)} ${e.path}`;

/** Opens the store, does real work (a key written, a checkpoint: new WAL and relation files), closes it. */
async function useStore(dataDir: string): Promise<void> {
  const store = await openServerStore({
    env: { CONNECTR_ENCRYPTION_KEY: newKey() },
    dataDir,
    secrets: memorySecrets(),
  });
  try {
    const { project } = await ensureProject(store.db, `p-${String(Date.now())}`);
    await createApiKey(store.db, { projectId: project.id, name: 'files' });
    await store.database.query(
      'create table if not exists files_probe as select generate_series(1, 50000) as n',
    );
    await store.database.query('checkpoint');
  } finally {
    await store.close();
  }
}

function expectPrivate(serverDir: string): void {
  const entries = walk(serverDir);
  expect(entries.length).toBeGreaterThan(100);
  expect(entries.filter((e) => e.dir && e.mode !== 0o700).map(octal)).toEqual([]);
  expect(entries.filter((e) => !e.dir && e.mode !== 0o600).map(octal)).toEqual([]);
}

describe('the PGlite data folder', () => {
  let home: ReturnType<typeof tempHome>;
  let umask: number;

  beforeAll(() => {
    // The loosest umask: nothing may depend on it.
    umask = process.umask(0);
  });
  afterAll(() => {
    process.umask(umask);
  });
  afterEach(() => {
    home.cleanup();
  });

  it('is created 0700 with 0600 files under umask 0, and stays so after queries and a checkpoint', async () => {
    home = tempHome();
    await useStore(home.dir);
    expectPrivate(join(home.dir, 'server'));
  }, 120_000);

  it('is tightened on start when a restored backup left it 0777 with 0666 files', async () => {
    home = tempHome();
    await useStore(home.dir);
    const serverDir = join(home.dir, 'server');
    // As `cp -r` or an archive restored by a deploy step under umask 0 would leave it.
    for (const e of walk(serverDir)) chmodSync(e.path, e.dir ? 0o777 : 0o666);
    mkdirSync(join(serverDir, 'extra'), { mode: 0o777 });
    chmodSync(join(serverDir, 'extra'), 0o777);
    writeFileSync(join(serverDir, 'extra', 'note'), 'x', { mode: 0o666 });
    chmodSync(join(serverDir, 'extra', 'note'), 0o666);
    await useStore(home.dir);
    expectPrivate(serverDir);
  }, 120_000);

  it.skipIf(process.getuid?.() !== 0)(
    'refuses to start, naming the path and the fix, when a file in it belongs to another user',
    async () => {
      home = tempHome();
      await useStore(home.dir);
      const foreign = join(home.dir, 'server', 'pglite', 'PG_VERSION');
      // nobody: any user but the one running the server could change the file under it.
      chownSync(foreign, 65534, 65534);
      const opening = openServerStore({
        env: { CONNECTR_ENCRYPTION_KEY: newKey() },
        dataDir: home.dir,
        secrets: memorySecrets(),
      });
      await expect(opening).rejects.toBeInstanceOf(ConnectrError);
      await expect(opening).rejects.toThrow(foreign);
      await expect(opening).rejects.toMatchObject({ hint: expect.stringContaining('chown -R') as unknown });
    },
    120_000,
  );
});
