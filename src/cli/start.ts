import { readFileSync } from 'node:fs';
import { packagePath } from '../core/install.js';

/**
 * The first code `connectr` runs (bin/connectr.cjs loads it). It loads no more than it must:
 * `--version` is answered here, and every other command runs from the start-up bundle
 * (dist/bundle/connectr.cjs, built by scripts/bundle.mjs: connectr and the small libraries
 * every command uses, in one file) with a V8 code cache in the cache directory. Loading ~90
 * modules one by one, and compiling them, was most of a `connectr call` (issue #8).
 */

const argv = process.argv.slice(2);

// What scripts and package managers run most (the same text commander would print).
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}

void start(argv);

async function start(args: readonly string[]): Promise<void> {
  // Imported here, not above, so that `--version` loads none of them.
  const [path, { hasProxy }, { resolvePaths }, { runCommonJs }, { commandIndex }] = await Promise.all([
    import('node:path'),
    import('../core/http/proxy-env.js'),
    import('../core/paths.js'),
    import('./code-cache.js'),
    import('./globals.js'),
  ]);
  // Behind a proxy, requests go through undici, which parses HTTP with llhttp compiled to
  // WebAssembly; V8 then re-compiles it with its optimising tier on a background thread and
  // the process waits for that before it exits (~100 ms, ~30 MiB): a command is too
  // short-lived to gain from it. The flag is set before anything is compiled because V8 only
  // uses a code cache made under the same flags (hence its own cache tag). Node 20-24 know
  // the flag; V8 only warns about an unknown one, so it is set only where it is known.
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const baselineWasm = hasProxy(process.env) && nodeMajor >= 20 && nodeMajor <= 24;
  if (baselineWasm) {
    const { setFlagsFromString } = await import('node:v8');
    setFlagsFromString('--liftoff-only');
  }

  // Each command keeps its own cache: one holds what `call` compiled, another what `auth` did.
  // The word after the global options (`--connectors-dir DIR call ...`): a call so written is a
  // `call` for its code cache too, and finds the one `npm run build` shipped.
  const word = args[commandIndex(args)] ?? '';
  const command = /^[a-z]{1,20}$/.test(word) ? word : 'other';
  const bundle = runCommonJs(packagePath('dist', 'bundle', 'connectr.cjs'), {
    dir: process.env.CONNECTR_NO_CODE_CACHE ? undefined : path.join(resolvePaths(process.env).cacheDir, 'v8'),
    shipped: packagePath('dist', 'bundle', 'v8'),
    tag: baselineWasm ? `${command}-proxy` : command,
  }) as { main(argv: readonly string[]): Promise<void> };
  await bundle.main(args);
}
