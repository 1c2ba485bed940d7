// Runs every benchmark in bench/ (files named *.mjs other than this runner and lib.mjs).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && f !== 'lib.mjs')
  .sort();
let failed = false;
for (const script of scripts) {
  const r = spawnSync(process.execPath, [join(dir, script)], {
    stdio: 'inherit',
    env: { ...process.env, CONNECTR_BENCH_SUITE: '1' },
  });
  if (r.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
