// Time and peak memory of `connectr connectors import openapi` on a large real document:
// GitHub's REST API description (@octokit/openapi, a devDependency; over a thousand
// operations), as a ratio to starting node itself, measured in the same run (issue #11).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BIN, peakRssMiB, report, reportRss, timeCommands, withTempHome } from './lib.mjs';

const require = createRequire(import.meta.url);
const doc = require.resolve('@octokit/openapi/generated/api.github.com.json');
const spec = JSON.parse(readFileSync(doc, 'utf8'));
const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const operations = Object.values(spec.paths).reduce(
  (n, item) => n + methods.filter((m) => item[m] !== undefined).length,
  0,
);

withTempHome((env) => {
  const out = join(env.CONNECTR_HOME, 'github.yaml');
  const args = [BIN, 'connectors', 'import', 'openapi', doc, '--name', 'github', '--out', out, '--force'];
  const [importMs, nodeMs] = timeCommands(
    [
      [process.execPath, args],
      [process.execPath, ['-e', '0']],
    ],
    { runs: 3, warmup: 1, env },
  );
  report(
    `openapi import (${operations} operations)`,
    'connectors import openapi',
    importMs,
    'node -e 0',
    nodeMs,
  );
  reportRss(
    `openapi import (${operations} operations)`,
    'peak RSS',
    peakRssMiB(process.execPath, args, env, 1),
  );
});
