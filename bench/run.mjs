// Runs every benchmark in bench/ (files named *.mjs other than this runner and lib.mjs), then
// lists the figures that missed their target (issue #8), so a regression shows in the output.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && f !== 'lib.mjs')
  .sort();
let failed = false;
const missed = [];
for (const script of scripts) {
  const r = spawnSync(process.execPath, [join(dir, script)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, CONNECTR_BENCH_SUITE: '1' },
  });
  process.stdout.write(r.stdout ?? '');
  missed.push(...(r.stdout ?? '').split('\n').filter((line) => line.includes('MISSED')));
  if (r.status !== 0) failed = true;
}
console.log(
  missed.length === 0
    ? '\nall targets met'
    : `\n${missed.length} target(s) missed:\n${missed.map((line) => `  ${line}`).join('\n')}`,
);
process.exitCode = failed ? 1 : 0;
