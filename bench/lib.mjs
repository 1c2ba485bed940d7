import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'connectr.js');

/**
 * Median wall time in ms of each command, run in turns (a, b, c, a, b, c...) after warm-up
 * rounds, so that a slow moment of the machine weighs on all of them alike.
 */
export function timeCommands(commands, { runs = 21, warmup = 3, env = process.env } = {}) {
  const samples = commands.map(() => []);
  for (let round = 0; round < warmup + runs; round++) {
    commands.forEach(([command, args, commandEnv], i) => {
      const start = process.hrtime.bigint();
      const r = spawnSync(command, args, { env: commandEnv ?? env, stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr}`);
      if (round >= warmup) samples[i].push(ms);
    });
  }
  return samples.map((list) => {
    list.sort((a, b) => a - b);
    return list[Math.floor(list.length / 2)];
  });
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

/** The start-up figures of issue #2: `--version` (target 1.5x) and `connectors list`, vs `node -e 0`. */
export function startupFigures(env) {
  const node = process.execPath;
  const [baseline, version, list] = timeCommands(
    [
      [node, ['-e', '0']],
      [node, [BIN, '--version']],
      [node, [BIN, 'connectors', 'list']],
    ],
    { env },
  );
  report('startup', 'connectr --version', version, 'node -e 0', baseline, 1.5);
  report('startup', 'connectr connectors list', list, 'node -e 0', baseline);
}
