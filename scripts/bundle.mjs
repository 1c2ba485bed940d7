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
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashContent, hashFileOf } from '../dist/cli/code-cache.js';

const root = join(import.meta.dirname, '..');
const BUNDLED = new Set(['commander', 'lowdb', 'proper-lockfile']);
const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = Object.keys(dependencies).filter((name) => !BUNDLED.has(name));

// Node's larger built-in modules are loaded when first used rather than when imported: most
// commands need few of them (`connectors list` sends nothing; commander loads child_process
// for subcommands run as separate programs, which connectr has none of; a plain-http call
// needs no TLS), and each costs milliseconds to load. The bundle reads their exports only at
// call time (`(0, import_x.fn)(...)`), so a proxy that loads the module on the first read is
// the same module to it. fs, path, url, events and stream stay as they are: every command
// uses them from the start (and graceful-fs patches fs itself).
const LAZY_BUILTINS = [
  'child_process',
  'crypto',
  'dns',
  'fs/promises',
  'http',
  'https',
  'net',
  'os',
  'readline',
  'tls',
  'zlib',
];
const LAZY_REQUIRE = new RegExp(`\\brequire\\("(?:node:)?(${LAZY_BUILTINS.join('|')})"\\)`, 'g');
// A proxy may claim a property configurable only, since its own (empty) target has none.
const LAZY_HELPER = `function lazyBuiltin(name) {
  let loaded;
  const real = () => (loaded ??= require(name));
  return new Proxy({}, {
    get: (_, key) => real()[key],
    set: (_, key, value) => Reflect.set(real(), key, value),
    has: (_, key) => key in real(),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}`;
// core/connector/registry.ts (and `connectors import openapi`) read a definition through
// `import('.../load.js')`: in the bundle that is src/cli/definitions.ts, which runs the
// definitions bundle below with its own code cache, so the reader is not in this bundle too.
const definitionsFromTheirBundle = {
  name: 'definitions',
  setup(b) {
    b.onResolve({ filter: /^(\.\/|\.\.\/connector\/)load\.js$/ }, (args) =>
      /core[\\/](connector[\\/]registry|openapi[\\/]import)\.js$/.test(args.importer)
        ? { path: join(root, 'dist', 'cli', 'definitions.js') }
        : undefined,
    );
  },
};
// The settings' schema (src/core/settings) is read by every command at start: zod/mini's ES
// module build is bundled in, so esbuild keeps only what it uses (some 30 KB, compiled into
// the code cache) instead of requiring zod from node_modules (~100 files) at every start. The
// rest of zod stays out: only the server and MCP use it.
const zodMiniBundled = {
  name: 'zod-mini',
  setup(b) {
    b.onResolve({ filter: /^zod\/mini$/ }, () => ({
      path: join(root, 'node_modules', 'zod', 'mini', 'index.js'),
    }));
  },
};
/** What every bundle is: CommonJS for Node 20, in dist/bundle. */
const BUNDLE = {
  outdir: join(root, 'dist', 'bundle'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'silent',
};
const result = await build({
  ...BUNDLE,
  entryPoints: [
    { in: join(root, 'dist', 'cli', 'start.js'), out: 'start' },
    { in: join(root, 'dist', 'cli', 'bin.js'), out: 'connectr' },
  ],
  external,
  // A CommonJS file run through vm.Script has no import(): a dynamic import of a library left
  // out becomes require(), which loads ES modules too on the Node versions connectr accepts.
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: `const importMetaUrl = require('node:url').pathToFileURL(__filename).href;\n${LAZY_HELPER}` },
  plugins: [definitionsFromTheirBundle, zodMiniBundled],
});
// The definition reader with the YAML parser bundled in: one file to load and compile (or to
// take from a code cache) instead of some 130 in node_modules (issue #20). A definition is
// checked by the check generated from the schema (fast-check.ts), without zod; the zod schema,
// for what that check leaves to it (whatever is wrong, to word the problems), is a bundle of
// its own, dist/bundle/definitions-schema.cjs, required on first use.
const SCHEMA_BUNDLE = './definitions-schema.cjs';
const schemaOnFirstUse = {
  name: 'schema-on-first-use',
  setup(b) {
    b.onResolve({ filter: /^\.\/schema-check\.js$/ }, (args) =>
      /core[\\/]connector[\\/]load\.js$/.test(args.importer)
        ? { path: 'schema-check', namespace: 'schema-on-first-use' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'schema-on-first-use' }, () => ({
      contents: `let loaded;
export function checkWithSchema(data) {
  loaded ??= require(${JSON.stringify(SCHEMA_BUNDLE)});
  return loaded.checkWithSchema(data);
}`,
      loader: 'js',
    }));
  },
};
/** A bundle of everything `entry` (a file of dist/) imports, node_modules included. */
const selfContained = (entry, out, options = {}) =>
  build({ ...BUNDLE, entryPoints: [{ in: join(root, 'dist', ...entry), out }], ...options });
const definitions = await selfContained(['core', 'connector', 'load.js'], 'definitions', {
  plugins: [schemaOnFirstUse],
  external: [SCHEMA_BUNDLE],
  // yaml's ES module build (the same code its CommonJS build is compiled from), so that only
  // what reading a definition uses is bundled: 65 KB less to load with every first read.
  alias: { yaml: join(root, 'node_modules', 'yaml', 'browser', 'index.js') },
});
const schema = await selfContained(['core', 'connector', 'schema-check.js'], 'definitions-schema');
for (const other of [definitions, schema]) {
  result.errors.push(...other.errors);
  result.warnings.push(...other.warnings);
}
for (const message of [...result.errors, ...result.warnings]) {
  console.error(
    `bundle: ${message.text}${message.location ? ` (${message.location.file}:${message.location.line})` : ''}`,
  );
}
// A warning here (an import.meta left unreplaced, a require that cannot be resolved) is a
// broken CLI later: fail the build instead.
if (result.errors.length + result.warnings.length > 0) process.exit(1);
for (const name of ['start.cjs', 'connectr.cjs']) {
  const file = join(root, 'dist', 'bundle', name);
  writeFileSync(file, readFileSync(file, 'utf8').replace(LAZY_REQUIRE, 'lazyBuiltin("node:$1")'));
}
// esbuild escapes non-ASCII text in strings, regular expressions and names, but not in the
// comments it keeps; one such character (an ellipsis in a comment) made Node decode a whole
// bundle into a two-byte string, twice the memory and a slower decoding at every start. What
// remains is in comments, where an escape reads as well.
for (const name of ['start.cjs', 'connectr.cjs', 'definitions.cjs', 'definitions-schema.cjs']) {
  const file = join(root, 'dist', 'bundle', name);
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (ascii !== text) writeFileSync(file, ascii);
}
// The hash that names the bundle's code caches, so that a start need not compute it.
for (const name of ['connectr.cjs', 'definitions.cjs']) {
  const bundleFile = join(root, 'dist', 'bundle', name);
  writeFileSync(hashFileOf(bundleFile), `${hashContent(readFileSync(bundleFile))}\n`);
}

// V8 code caches for a home that has none yet (CI, a container, the first run after an
// upgrade): the commands run most, run once in a throw-away home (the call against a local
// server standing in for Gmail, so that sending and reading a response are compiled too); the
// caches they leave are kept in dist/bundle/v8, where src/cli/code-cache.ts finds them by the
// same names. Only a Node of the same version as this build uses them.
const shipped = join(root, 'dist', 'bundle', 'v8');
rmSync(shipped, { recursive: true, force: true });
const home = mkdtempSync(join(tmpdir(), 'connectr-build-'));
const upstream = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"emailAddress":"build@example.com","messagesTotal":0,"threadsTotal":0,"historyId":"1"}');
});
try {
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const env = {
    PATH: process.env.PATH,
    CONNECTR_HOME: home,
    NO_COLOR: '1',
    CONNECTR_GMAIL_API_BASE_URL: `http://127.0.0.1:${upstream.address().port}`,
    CONNECTR_GMAIL_TOKEN: 'build-time',
  };
  // The call also reads a definition of the user's own, so that the caches hold the reading
  // and checking of one (the definitions bundle's cache, and the call's own path to it).
  const own = join(home, 'own-connectors');
  mkdirSync(own);
  writeFileSync(
    join(own, 'build.yaml'),
    `name: build
display_name: Build
version: 1
docs_url: https://example.com/docs
description: A definition read while the caches are made.
hosts:
  api: https://api.example.com
auth:
  type: api_key
  in: header
  name: Authorization
  prefix: "Bearer "
endpoints:
  get_item:
    summary: One item.
    method: GET
    path: /items/{id}
    params:
      id: { in: path, required: true, description: Its id. }
`,
  );
  for (const args of [
    ['connectors', 'list'],
    ['--connectors-dir', own, 'call', 'gmail', 'get_profile'],
  ]) {
    const child = spawn(process.execPath, [join(root, 'bin', 'connectr.cjs'), ...args], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60_000,
    });
    let stderr = '';
    child.stderr.on('data', (data) => (stderr += data));
    const [code] = await once(child, 'close');
    if (code !== 0) {
      console.error(`bundle: \`connectr ${args.join(' ')}\` failed (${code}): ${stderr}`);
      process.exit(1);
    }
  }
  mkdirSync(shipped, { recursive: true });
  for (const name of readdirSync(join(home, 'cache', 'v8')).filter((n) => n.endsWith('.bin'))) {
    copyFileSync(join(home, 'cache', 'v8', name), join(shipped, name));
    // Readable by every user of a shared install; writable by its owner only (code-cache.ts
    // refuses a cache others could have written).
    chmodSync(join(shipped, name), 0o644);
  }
} finally {
  upstream.close();
  rmSync(home, { recursive: true, force: true });
}
