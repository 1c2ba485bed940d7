// Builds the CLI's two start-up bundles from tsc's output (issue #8); run by `npm run build`:
// - dist/bundle/start.cjs (from dist/cli/start.js), what bin/connectr.cjs loads: a few small
//   modules, CommonJS so that a command never pays for starting Node's ES module loader;
// - dist/bundle/connectr.cjs (from dist/cli/bin.js): connectr and the small libraries every
//   command uses, in one file that start.ts runs with a V8 code cache.
//
// In it, of the runtime dependencies, only the small ones every command uses (BUNDLED); every
// other dependency is left out and loaded from node_modules only on the paths that need it:
// the large libraries few commands use (zod and yaml: reading definitions and files;
// @inquirer/prompts: questions at a terminal; undici: proxies), `open` (it finds its own helper
// script next to itself), the keychain's native module, and whatever is added later unless it
// is added here. The bundles sit two levels below the package root, as dist/core/install.js
// does, so install.ts finds the root from any of them.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const BUNDLED = new Set(['commander', 'lowdb', 'proper-lockfile']);
const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = Object.keys(dependencies).filter((name) => !BUNDLED.has(name));
const result = await build({
  entryPoints: [
    { in: join(root, 'dist', 'cli', 'start.js'), out: 'start' },
    { in: join(root, 'dist', 'cli', 'bin.js'), out: 'connectr' },
  ],
  outdir: join(root, 'dist', 'bundle'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external,
  // A CommonJS file run through vm.Script has no import(): a dynamic import of a library left
  // out becomes require(), which loads ES modules too on the Node versions connectr accepts.
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'silent',
});
for (const message of [...result.errors, ...result.warnings]) {
  console.error(
    `bundle: ${message.text}${message.location ? ` (${message.location.file}:${message.location.line})` : ''}`,
  );
}
// A warning here (an import.meta left unreplaced, a require that cannot be resolved) is a
// broken CLI later: fail the build instead.
if (result.errors.length + result.warnings.length > 0) process.exit(1);
