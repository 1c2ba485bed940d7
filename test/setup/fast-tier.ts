import childProcess from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join, resolve } from 'node:path';

/**
 * The guard of the fast tier (setupFiles of its vitest project; see test/setup/tiers.ts). A test
 * there may not start a process (the binary, a shell, a database) nor use the build: each
 * function of node:child_process throws, and dist/ reads as missing, as on a fresh clone where
 * the code falls back to the sources. A file that needs either belongs in NEEDS_PROCESS.
 * In `npm test` the same files run under the same guard, so none can depend on it unnoticed.
 */

const ROOT = resolve(import.meta.dirname, '..', '..');
const BUILT = [join(ROOT, 'dist'), join(ROOT, 'sdk', 'typescript', 'dist')];
const MOVE = 'list this test file in NEEDS_PROCESS (test/setup/tiers.ts): it runs in npm test';

const mutable = childProcess as unknown as Record<string, unknown>;
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  mutable[name] = (command: unknown) => {
    throw new Error(`the fast tier starts no process (${name} ${String(command)}): ${MOVE}`);
  };
}

function built(path: unknown): boolean {
  let p: string;
  if (typeof path === 'string') p = path;
  else if (path instanceof URL) p = path.pathname;
  else return false;
  const absolute = resolve(p);
  return BUILT.some((dir) => absolute === dir || absolute.startsWith(`${dir}/`));
}

function missing(path: unknown): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(
    `ENOENT: the fast tier has no build, ${String(path)}; ${MOVE}`,
  );
  error.code = 'ENOENT';
  return error;
}

const fsMutable = fs as unknown as Record<string, unknown>;
for (const name of ['readFileSync', 'statSync', 'lstatSync', 'openSync', 'readdirSync']) {
  const original = fsMutable[name] as (...args: unknown[]) => unknown;
  fsMutable[name] = (path: unknown, ...rest: unknown[]) => {
    if (built(path)) throw missing(path);
    return original(path, ...rest);
  };
}
const existsSync = fs.existsSync;
fs.existsSync = (path) => !built(path) && existsSync(path);
const promises = fs.promises as unknown as Record<string, unknown>;
for (const name of ['readFile', 'stat', 'lstat', 'open', 'readdir', 'access']) {
  const original = promises[name] as (...args: unknown[]) => Promise<unknown>;
  promises[name] = (path: unknown, ...rest: unknown[]) =>
    built(path) ? Promise.reject(missing(path)) : original(path, ...rest);
}
syncBuiltinESMExports();

// No daemon was started for this tier unless `npm test` started them (its other project's global
// setup): the variants that need one skip, saying why, and nothing reaches the developer's own
// keychain or session bus.
if (process.env.CONNECTR_TEST_KEYCHAIN !== '1') {
  process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/connectr-test-bus';
}
if (!process.env.CONNECTR_TEST_POSTGRES_URL) {
  process.env.CONNECTR_TEST_POSTGRES_SKIP ??=
    'the fast tier starts no PostgreSQL (npm test runs this variant)';
}
