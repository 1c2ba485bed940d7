import type { IO } from './io.js';

/**
 * A transfer's progress on stderr, redrawn in place at most ten times a second; only on a
 * terminal, and only for transfers big enough to be worth watching.
 */
export const PROGRESS_THRESHOLD = 4 * 1024 * 1024;

export interface Progress {
  update(done: number, total: number | undefined): void;
  finish(): void;
}

export function progressBar(io: IO, label: string, now: () => number = Date.now): Progress {
  const started = now();
  let last = 0;
  let drawn = false;
  const draw = (done: number, total: number | undefined): void => {
    const seconds = Math.max(0.001, (now() - started) / 1000);
    const rate = `${mb(done / seconds)}/s`;
    const width = 24;
    const bar =
      total && total > 0
        ? `[${'#'.repeat(Math.round((done / total) * width)).padEnd(width, '.')}] ${Math.floor((done / total) * 100)}%`
        : '';
    io.stderr.write(`\r${label} ${mb(done)}${total ? ` / ${mb(total)}` : ''} ${bar} ${rate}\u001b[K`);
    drawn = true;
  };
  return {
    update(done, total) {
      if (!io.stderrIsTTY || (total ?? done) < PROGRESS_THRESHOLD) return;
      const t = now();
      if (t - last < 100 && done !== total) return;
      last = t;
      draw(done, total);
    },
    finish() {
      if (drawn) io.stderr.write('\n');
    },
  };
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
