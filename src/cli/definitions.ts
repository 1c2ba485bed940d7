import { join } from 'node:path';
import type * as Load from '../core/connector/load.js';
import { packagePath } from '../core/install.js';
import { resolvePaths } from '../core/paths.js';
import { runCommonJs } from './code-cache.js';

/**
 * What core/connector/registry.ts loads for `import('./load.js')` in the start-up bundle
 * (scripts/bundle.mjs points it here): the definition reader with the YAML parser and the
 * check generated from the schema, in one file of their own (dist/bundle/definitions.cjs) run
 * with a V8 code cache, as the CLI itself is; it loads the zod schema (definitions-schema.cjs)
 * only for a definition that check leaves to it. Loaded from node_modules instead (some 130
 * files to find, read and compile), they were most of the first `connectr call` with a
 * connector of the user's own (issue #20).
 * A definition comes out of it as plain data, so which copy of zod checked it does not matter;
 * everything else in the bundle (the daemon's route schemas) keeps the zod of node_modules that
 * its libraries share.
 */
const definitions = runCommonJs(packagePath('dist', 'bundle', 'definitions.cjs'), {
  dir: process.env.CONNECTR_NO_CODE_CACHE ? undefined : join(resolvePaths(process.env).cacheDir, 'v8'),
  shipped: packagePath('dist', 'bundle', 'v8'),
  tag: 'definitions',
}) as typeof Load;

export const parseConnector: typeof Load.parseConnector = definitions.parseConnector;
