// Shell completion latency (issue #11): ms per completion in bash for a home with 8 connectors
// (the 3 built-ins plus 5 in a connectors folder), the index already built, vs `node -e 0`.
// Target: under 150 ms per completion.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, timeCommands, withTempHome } from './lib.mjs';

const TARGET_MS = 150;

function connector(name) {
  return `name: ${name}
display_name: ${name}
version: 1
docs_url: https://example.com/docs
description: A benchmark connector.
hosts:
  api: https://${name}.example.com
auth:
  type: none
endpoints:
${Array.from({ length: 10 }, (_, i) => `  endpoint_${i}:\n    summary: One.\n    method: GET\n    path: /e${i}\n    params:\n      order:\n        in: query\n        enum: [newest, oldest]\n`).join('')}`;
}

withTempHome((baseEnv) => {
  const dir = join(baseEnv.CONNECTR_HOME, 'extra');
  const bin = join(baseEnv.CONNECTR_HOME, 'bin');
  mkdirSync(dir);
  mkdirSync(bin);
  for (const name of ['one', 'two', 'three', 'four', 'five'])
    writeFileSync(join(dir, `${name}.yaml`), connector(name));
  writeFileSync(join(bin, 'connectr'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
  chmodSync(join(bin, 'connectr'), 0o755);
  const env = { ...baseEnv, PATH: `${bin}:${baseEnv.PATH}`, CONNECTR_CONNECTORS_DIR: dir };
  const script = join(baseEnv.CONNECTR_HOME, 'completion.bash');
  writeFileSync(
    script,
    spawnSync(process.execPath, [BIN, 'completion', 'bash'], { env, encoding: 'utf8' }).stdout,
  );
  // One completion as a shell runs it: the function, then COMPREPLY (an endpoint's enum values).
  const complete = [
    'bash',
    [
      '--norc',
      '--noprofile',
      '-c',
      'source "$0"; COMP_WORDS=(connectr call three endpoint_4 --order ""); COMP_CWORD=5; _connectr; [ "${COMPREPLY[*]}" = "newest oldest" ]',
      script,
    ],
  ];
  // The shell's own start, to subtract: what a completion costs inside a running shell.
  const shell = ['bash', ['--norc', '--noprofile', '-c', 'source "$0"', script]];
  // After a definition changed, the first completion rebuilds the index with node (no target).
  const rebuild = [process.execPath, [BIN, '__complete', 'index', '--key', `${dir}@${process.cwd()}`]];
  const [baseline, total, start, rebuilt] = timeCommands(
    [[process.execPath, ['-e', '0']], complete, shell, rebuild],
    { env },
  );
  const ms = total - start;
  const ratio = ms / baseline;
  console.log(
    `completion: bash, 8 connectors ${ms.toFixed(0)} ms vs node -e 0 ${baseline.toFixed(0)} ms = ${ratio.toFixed(2)}x (target < ${TARGET_MS} ms: ${ms < TARGET_MS ? 'ok' : 'MISSED'})`,
  );
  console.log(
    `completion: index rebuilt after a change ${rebuilt.toFixed(0)} ms vs node -e 0 ${baseline.toFixed(0)} ms = ${(rebuilt / baseline).toFixed(2)}x (once per change)`,
  );
});
