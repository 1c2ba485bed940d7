import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'connectr.js');

/** Median wall time in ms of running `command args` `runs` times, after warm-up runs. */
export function timeCommand(command, args, { runs = 15, warmup = 3, env = process.env } = {}) {
  const samples = [];
  for (let i = 0; i < warmup + runs; i++) {
    const start = process.hrtime.bigint();
    const r = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
    if (i >= warmup) samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

/** One figure: `name: what X ms vs baseline Y ms = Rx`, with the target when there is one. */
export function report(name, what, ms, baselineName, baselineMs, target) {
  const ratio = ms / baselineMs;
  const verdict =
    target === undefined
      ? ''
      : ratio <= target
        ? ` (target <= ${target}x: ok)`
        : ` (target <= ${target}x: MISSED)`;
  console.log(
    `${name}: ${what} ${ms.toFixed(0)} ms vs ${baselineName} ${baselineMs.toFixed(0)} ms = ${ratio.toFixed(2)}x${verdict}`,
  );
  return ratio;
}

/** A throw-away CONNECTR_HOME so benchmarks never touch the user's files. */
export function withTempHome(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'connectr-bench-'));
  try {
    return fn({ ...process.env, CONNECTR_HOME: dir, NO_COLOR: '1' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
